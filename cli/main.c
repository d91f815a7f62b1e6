/*
 * tigris: the command-line tool. `tigris tail` subscribes and prints alerts,
 * `tigris classify` tags JSON lines offline, `tigris parse` prints a normalised
 * feed, `tigris check` validates a config. Each command lives in its own cli/cmd_NAME.c.
 */
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../daemon/feed.h"
#include "commands.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "tail", tg_cmd_tail, "subscribe to the daemon and print alerts" },
	{ "classify", tg_cmd_classify, "tag JSON lines {\"id\",\"title\",\"body\"} from stdin" },
	{ "parse", tg_cmd_parse, "print a feed file as normalised JSON" },
	{ "check", tg_cmd_check, "validate a config file (and its taxonomy)" },
	{ "import-opml", tg_cmd_import_opml, "add the feeds of an OPML file to a config" },
	{ "feeds", tg_cmd_feeds, "show the health of every feed of a running tigrisd" },
	{ "keygen", tg_cmd_keygen, "write a CURVE key pair NAME.key and NAME.pub" },
};

static void
usage(FILE *f)
{
	fputs("usage: tigris COMMAND [OPTIONS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fputs("\n`tigris COMMAND --help` describes each.\n", f);
}

int
main(int argc, char **argv)
{
	tg_log_set_ident("tigris");
	/* libxml2 and jansson through the counting allocators: an allocation that
	 * fails inside them is reported as an error, never as silently wrong text. */
	tg_feed_global_init();
	tg_log_set_level(TG_LOG_WARNING);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tigris: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
