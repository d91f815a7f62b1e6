/*
 * Worker child processes: start, reap on SIGCHLD, restart with back-off, stop.
 * See supervise.h.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "supervise.h"

#define RESTART_MIN_MS 200
#define RESTART_MAX_MS 10000
#define STABLE_MS 5000 /* a child that lived this long restarts at once */

struct child {
	struct tg_supervisor *s;
	pid_t pid;
	int64_t started_ms;
	int64_t backoff_ms;
	struct event *restart;
};

struct tg_supervisor {
	struct event_base *base;
	char **argv;
	size_t argc;
	size_t n;
	struct child *children;
	struct event *sigchld;
	tg_supervise_exit_cb cb;
	void *arg;
	bool stopping;
};

static int
spawn(struct child *c)
{
	struct tg_supervisor *s = c->s;
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		tg_err("supervise: fork failed: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		/* Die with the daemon, and start with default signal handling. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_IGN); /* Ctrl-C stops the daemon, which stops us */
		execv(s->argv[0], s->argv);
		fprintf(stderr, "<3>tigrisd: cannot run %s: %s\n", s->argv[0], strerror(errno));
		_exit(127);
	}
	c->pid = pid;
	c->started_ms = tg_now_mono_ms();
	tg_info("supervise: started worker pid %d", (int)pid);
	return 0;
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	if (c->s->stopping || c->pid != 0)
		return;
	if (spawn(c) != 0) {
		struct timeval tv = { RESTART_MAX_MS / 1000, 0 };
		evtimer_add(c->restart, &tv);
	}
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct tg_supervisor *s = arg;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < s->n; i++) {
			struct child *c = &s->children[i];
			int64_t lived;
			struct timeval tv;

			if (c->pid != pid)
				continue;
			c->pid = 0;
			if (WIFSIGNALED(status))
				tg_warn("supervise: worker pid %d killed by signal %d", (int)pid,
				    WTERMSIG(status));
			else
				tg_warn("supervise: worker pid %d exited with status %d", (int)pid,
				    WEXITSTATUS(status));
			if (s->cb)
				s->cb(s->arg, pid, status);
			if (s->stopping)
				break;
			lived = tg_now_mono_ms() - c->started_ms;
			if (lived >= STABLE_MS)
				c->backoff_ms = RESTART_MIN_MS;
			else
				c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : RESTART_MIN_MS;
			if (c->backoff_ms > RESTART_MAX_MS)
				c->backoff_ms = RESTART_MAX_MS;
			tv.tv_sec = c->backoff_ms / 1000;
			tv.tv_usec = (c->backoff_ms % 1000) * 1000;
			evtimer_add(c->restart, &tv);
			break;
		}
	}
}

struct tg_supervisor *
tg_supervisor_new(struct event_base *base, size_t n, char *const argv[],
    tg_supervise_exit_cb cb, void *arg, char *err, size_t errlen)
{
	struct tg_supervisor *s;
	size_t argc = 0;

	if (argv == NULL || argv[0] == NULL) {
		snprintf(err, errlen, "supervise: no worker program");
		return NULL;
	}
	while (argv[argc])
		argc++;
	s = tg_calloc(1, sizeof(*s));
	s->base = base;
	s->n = n;
	s->cb = cb;
	s->arg = arg;
	s->argc = argc;
	s->argv = tg_calloc(argc + 1, sizeof(char *));
	for (size_t i = 0; i < argc; i++)
		s->argv[i] = tg_strdup(argv[i]);
	s->children = tg_calloc(n ? n : 1, sizeof(struct child));
	for (size_t i = 0; i < n; i++) {
		s->children[i].s = s;
		s->children[i].restart = evtimer_new(base, on_restart, &s->children[i]);
	}
	return s;
}

int
tg_supervisor_start(struct tg_supervisor *s, char *err, size_t errlen)
{
	size_t started = 0;

	if (s->n == 0)
		return 0;
	if (access(s->argv[0], X_OK) != 0) {
		snprintf(err, errlen, "supervise: worker program %s: %s", s->argv[0],
		    strerror(errno));
		return -1;
	}
	s->sigchld = evsignal_new(s->base, SIGCHLD, on_sigchld, s);
	if (s->sigchld == NULL || evsignal_add(s->sigchld, NULL) != 0) {
		snprintf(err, errlen, "supervise: cannot watch SIGCHLD");
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		if (spawn(&s->children[i]) == 0)
			started++;
	if (started == 0) {
		snprintf(err, errlen, "supervise: no worker could be started");
		return -1;
	}
	return 0;
}

void
tg_supervisor_free(struct tg_supervisor *s, int grace_ms)
{
	int64_t deadline;

	if (s == NULL)
		return;
	s->stopping = true;
	for (size_t i = 0; i < s->n; i++)
		if (s->children[i].pid > 0)
			kill(s->children[i].pid, SIGTERM);
	deadline = tg_now_mono_ms() + grace_ms;
	for (;;) {
		size_t alive = 0;

		for (size_t i = 0; i < s->n; i++) {
			struct child *c = &s->children[i];
			if (c->pid > 0 && waitpid(c->pid, NULL, WNOHANG) != 0)
				c->pid = 0;
			if (c->pid > 0)
				alive++;
		}
		if (alive == 0)
			break;
		if (tg_now_mono_ms() >= deadline) {
			for (size_t i = 0; i < s->n; i++) {
				if (s->children[i].pid > 0) {
					kill(s->children[i].pid, SIGKILL);
					waitpid(s->children[i].pid, NULL, 0);
					s->children[i].pid = 0;
				}
			}
			break;
		}
		usleep(10000);
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->children[i].restart)
			event_free(s->children[i].restart);
	if (s->sigchld)
		event_free(s->sigchld);
	for (size_t i = 0; i < s->argc; i++)
		free(s->argv[i]);
	free(s->argv);
	free(s->children);
	free(s);
}

void
tg_supervisor_signal(struct tg_supervisor *s, int sig)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->children[i].pid > 0)
			kill(s->children[i].pid, sig);
}

size_t
tg_supervisor_running(const struct tg_supervisor *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->children[i].pid > 0)
			n++;
	return n;
}

pid_t
tg_supervisor_pid(const struct tg_supervisor *s, size_t i)
{
	return i < s->n ? s->children[i].pid : 0;
}
