/*
 * The subcommands of the `tigris` tool. Each takes its own argc/argv (argv[0] is
 * the command name) and returns the process exit status: 0 ok, 1 failure, 2 usage.
 */
#ifndef TG_COMMANDS_H
#define TG_COMMANDS_H

/* tigris tail [--connect EP] [--tag T]... [--relevant] [--json] [--count N] */
int tg_cmd_tail(int argc, char **argv);

/* tigris classify [--taxonomy FILE] [--explain] < items.jsonl */
int tg_cmd_classify(int argc, char **argv);

/* tigris parse [--base URL] FILE */
int tg_cmd_parse(int argc, char **argv);

/* tigris check CONFIG */
int tg_cmd_check(int argc, char **argv);

/* tigris feeds [--url http://127.0.0.1:9464] [--json]: GET /feeds from a running
 * tigrisd and print a table of every feed's health (or the raw JSON). */
int tg_cmd_feeds(int argc, char **argv);

/* tigris import-opml OPML --config FILE [--interval S] [--write] */
int tg_cmd_import_opml(int argc, char **argv);

/* tigris keygen NAME: write a CURVE key pair to NAME.key (0600) and NAME.pub. */
int tg_cmd_keygen(int argc, char **argv);

#endif
