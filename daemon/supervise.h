/*
 * Supervision of the worker processes the daemon starts itself ("workers": N):
 * each is fork+exec'd with the worker endpoint and taxonomy, dies with the daemon
 * (PR_SET_PDEATHSIG), and is started again after a short back-off when it dies.
 */
#ifndef TG_SUPERVISE_H
#define TG_SUPERVISE_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct tg_supervisor;

/* Called when a child exits, with its pid, before it is restarted. */
typedef void (*tg_supervise_exit_cb)(void *arg, pid_t pid, int status);

/* Prepare to run n copies of argv (argv[0] is the program path; copied). Nothing
 * starts until tg_supervisor_start. Returns NULL with err on bad arguments. */
struct tg_supervisor *tg_supervisor_new(struct event_base *base, size_t n, char *const argv[],
    tg_supervise_exit_cb cb, void *arg, char *err, size_t errlen);

/* Start every child (and watch SIGCHLD). Returns 0, or -1 with err if none could start. */
int tg_supervisor_start(struct tg_supervisor *s, char *err, size_t errlen);

/* SIGTERM every child, wait up to grace_ms, then SIGKILL and reap; free. NULL is fine. */
void tg_supervisor_free(struct tg_supervisor *s, int grace_ms);

/* Send sig to every running child (SIGHUP: reload the taxonomy). */
void tg_supervisor_signal(struct tg_supervisor *s, int sig);

/* Children running now. */
size_t tg_supervisor_running(const struct tg_supervisor *s);

/* Pid of child i (0 if not running); for tests and status. */
pid_t tg_supervisor_pid(const struct tg_supervisor *s, size_t i);

#endif
