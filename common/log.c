/*
 * Logging to stderr with syslog priority prefixes; see log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static enum tg_log_level log_level = TG_LOG_INFO;
static const char *log_ident = "tigris";

void
tg_log_set_level(enum tg_log_level level)
{
	log_level = level;
}

void
tg_log_set_ident(const char *ident)
{
	log_ident = ident;
}

int
tg_log_parse_level(const char *name, enum tg_log_level *out)
{
	static const struct {
		const char *name;
		enum tg_log_level level;
	} names[] = {
		{ "error", TG_LOG_ERR },     { "warning", TG_LOG_WARNING },
		{ "notice", TG_LOG_NOTICE }, { "info", TG_LOG_INFO },
		{ "debug", TG_LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

void
tg_log(enum tg_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so that lines from several processes do not interleave. */
	fprintf(stderr, "<%d>%s: %s\n", (int)level, log_ident, line);
}
