/*
 * tigrisd: the feed-watching daemon. Runs in the foreground, logs to stderr,
 * stops cleanly on SIGINT/SIGTERM. Everything happens in daemon.c.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "config.h"
#include "daemon.h"
#include "feed.h"

#define TG_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fputs("usage: tigrisd --config FILE [--check] [--log-level LEVEL]\n"
	      "\n"
	      "  -c, --config FILE     the JSON config (see tigris.conf(5), docs/config.md)\n"
	      "  -n, --check           validate the config and exit\n"
	      "  -l, --log-level LEVEL error, warning, notice, info or debug (overrides the config)\n"
	      "  -h, --help            this help, then the config keys\n"
	      "  -V, --version         print the version\n",
	    f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *level_name = NULL;
	struct tg_config *cfg = NULL;
	struct tg_daemon *d = NULL;
	enum tg_log_level level;
	char err[8192];
	int ch, check = 0, rc = 1;

	tg_log_set_ident("tigrisd");
	while ((ch = getopt_long(argc, argv, "c:nl:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'l':
			level_name = optarg;
			break;
		case 'h':
			usage(stdout);
			fputs("\nconfig keys:\n", stdout);
			tg_config_print_help(stdout);
			return 0;
		case 'V':
			puts("tigrisd " TG_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (level_name && tg_log_parse_level(level_name, &level) != 0) {
		fprintf(stderr, "tigrisd: unknown log level \"%s\"\n", level_name);
		return 2;
	}
	if (tg_config_load(config_path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s", err);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return 2;
	}
	if (check) {
		printf("%s: ok (%zu feeds)\n", config_path, cfg->nfeeds);
		tg_config_free(cfg);
		return 0;
	}
	if (level_name == NULL && tg_log_parse_level(cfg->log_level, &level) != 0)
		level = TG_LOG_INFO;
	tg_log_set_level(level);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tg_feed_global_init();
	d = tg_daemon_new(cfg, argv[0], err, sizeof(err));
	if (d == NULL) {
		tg_err("%s", err);
		goto out;
	}
	if (tg_daemon_run(d, err, sizeof(err)) != 0) {
		tg_err("%s", err);
		goto out;
	}
	tg_notice("stopped");
	rc = 0;
out:
	tg_daemon_free(d);
	curl_global_cleanup();
	return rc;
}
