/*
 * `tigris check CONFIG`: validate a config and the taxonomy it names, listing
 * every problem; exits 0 when both are fine, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "../daemon/config.h"
#include "../workers/classify.h"
#include "commands.h"

int
tg_cmd_check(int argc, char **argv)
{
	struct tg_config *cfg = NULL;
	struct tg_classifier *clf;
	static char err[65536];

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fputs("usage: tigris check CONFIG\n\nValidates the config and its taxonomy; "
		      "prints every problem.\n",
		    argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : 2;
	}
	if (tg_config_load(argv[1], &cfg, err, sizeof(err)) != 0) {
		fputs(err, stderr);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return 1;
	}
	clf = tg_classifier_load(cfg->taxonomy, err, sizeof(err));
	if (clf == NULL) {
		fprintf(stderr, "%s: taxonomy %s:\n%s\n", argv[1], cfg->taxonomy, err);
		tg_config_free(cfg);
		return 1;
	}
	printf("%s: ok (%zu feed(s), %d worker(s), taxonomy %s version %s)\n", argv[1],
	    cfg->nfeeds, cfg->workers, cfg->taxonomy, tg_classifier_version(clf));
	tg_classifier_free(clf);
	tg_config_free(cfg);
	return 0;
}
