/*
 * Logging to stderr with "<N>" syslog priority prefixes, so that journald keeps
 * the level when tigris runs under systemd. One line per event.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

enum tg_log_level {
	TG_LOG_ERR = 3,
	TG_LOG_WARNING = 4,
	TG_LOG_NOTICE = 5,
	TG_LOG_INFO = 6,
	TG_LOG_DEBUG = 7,
};

/* Set the most verbose level printed (default TG_LOG_INFO). */
void tg_log_set_level(enum tg_log_level level);

/* Parse "error", "warning", "notice", "info" or "debug"; returns -1 if unknown. */
int tg_log_parse_level(const char *name, enum tg_log_level *out);

/* Set the program name printed after the priority prefix (not copied: pass a literal). */
void tg_log_set_ident(const char *ident);

/* Print one line "<N>ident: message" to stderr when level is enabled. */
void tg_log(enum tg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define tg_err(...) tg_log(TG_LOG_ERR, __VA_ARGS__)
#define tg_warn(...) tg_log(TG_LOG_WARNING, __VA_ARGS__)
#define tg_notice(...) tg_log(TG_LOG_NOTICE, __VA_ARGS__)
#define tg_info(...) tg_log(TG_LOG_INFO, __VA_ARGS__)
#define tg_debug(...) tg_log(TG_LOG_DEBUG, __VA_ARGS__)

#endif
