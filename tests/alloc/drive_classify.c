/*
 * Allocation failure in `tigris classify --html`: each line's markup is turned
 * into plain text by tg_text_plain, whose allocation may fail. The driver runs
 * tg_cmd_classify in a child process on two lines of markup with a small
 * taxonomy, failing in turn each allocation the lines cause (their share is the
 * difference between a dry run with no line and one with the two; loading the
 * taxonomy is the same in both). It checks that a failure inside tg_text_plain
 * either gives its line the error "out of memory", the other line still
 * classified and exit status 1, or (where tg_text_plain has a way round the
 * failure) the very same output as without failures; any other failed allocation may end
 * in a clean error or in tg_malloc's abort (the allocator's policy), never in
 * another signal. It also checks that a classification that fails (its text
 * cannot be normalised for want of memory) leaves no near misses of the item
 * before it (tg_classify_near_misses). A driver, not a test:
 * tests/integration/test_alloc_failure.sh asserts on its exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../cli/commands.h"
#include "../../proto/result.h"
#include "../../workers/classify.h"
#include "failalloc.h"

#define PLAIN_FAILED 16 /* added to the child's exit status */

static const char taxonomy[] =
    "tag iraq actor 3\n"
    "tag strike topic 3\n"
    "term iraq.name iraq 3\n"
    "    Iraq\n"
    "term strike.word strike 3\n"
    "    drone strike\n";

static const char lines[] =
    "{\"id\":\"a\",\"title\":\"<b>Drone strike</b> in Iraq\",\"body\":\"<p>Officials said.</p>\"}\n"
    "{\"id\":\"b\",\"title\":\"Iraq &amp; the <i>drone strike</i>\",\"body\":\"\"}\n";

static void
die(const char *what)
{
	fprintf(stderr, "drive_classify: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(text, 1, n, f) != n || fclose(f) != 0)
		die(path);
}

static char *
read_file(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		die(path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A failed tg_classify leaves nothing for tg_classify_near_misses: classify an
 * item with a near miss, then one too long for the normaliser's buffer with
 * every allocation failing. Returns 0 when it holds. */
static int
check_failed_scan(const char *dir)
{
	static const char tax[] = "tag a actor 3\nterm a.name a 2\n    Alpha\n";
	static char body[64 * 1024];
	struct tg_classify_input in = { "", 0, "Alpha said", 10, NULL, 0 };
	struct tg_result *r = malloc(sizeof(*r)), *near = malloc(sizeof(*near));
	struct failalloc_stats st;
	char path[160], err[256] = "";
	struct tg_classifier *c;
	int before, failed, after = -1;

	snprintf(path, sizeof(path), "%s/near.tgt", dir);
	write_file(path, tax, sizeof(tax) - 1);
	c = tg_classifier_load(path, err, sizeof(err));
	unlink(path);
	if (c == NULL || r == NULL || near == NULL) {
		fprintf(stderr, "drive_classify: near-miss setup: %s\n", err);
		tg_classifier_free(c);
		free(r);
		free(near);
		return 1;
	}
	before = tg_classify(c, &in, r, err, sizeof(err)) == 0 ? tg_classify_near_misses(c, near) : -1;
	for (size_t i = 0; i + 6 < sizeof(body); i += 6)
		memcpy(body + i, "Alpha ", 6);
	in.summary = body;
	in.summary_len = sizeof(body) - 8;
	failalloc_start(1, 1);
	failed = tg_classify(c, &in, r, err, sizeof(err));
	failalloc_stop(&st);
	if (failed == -1)
		after = tg_classify_near_misses(c, near);
	printf("near misses: %d before, scan %s (%s), %d after\n", before,
	    failed ? "failed" : "succeeded", failed ? err : "-", after);
	tg_classifier_free(c);
	free(r);
	free(near);
	return before == 1 && failed == -1 && st.failed > 0 && after == 0 ? 0 : 1;
}

/* Run the command in a child on in (a file), output to out, failing allocation
 * fail_at (0: none). Returns the wait status; *calls gets the allocation calls
 * the child counted (through a pipe). */
static int
run(const char *tax, const char *in, const char *out, long fail_at, long *calls)
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) != 0)
		die("pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		static const char *const plain[] = { "tg_text_plain", NULL };
		char *argv[] = { "classify", "--taxonomy", (char *)tax, "--html", NULL };
		struct failalloc_stats st;
		int fd_in = open(in, O_RDONLY), fd_out = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fd_null = open("/dev/null", O_WRONLY), rc;

		if (fd_in < 0 || fd_out < 0 || fd_null < 0 || dup2(fd_in, 0) < 0 ||
		    dup2(fd_out, 1) < 0 || dup2(fd_null, 2) < 0)
			_exit(3);
		close(fds[0]);
		failalloc_start(fail_at, 0);
		rc = tg_cmd_classify(4, argv);
		failalloc_stop(&st);
		if (write(fds[1], &st.calls, sizeof(st.calls)) != (ssize_t)sizeof(st.calls))
			_exit(3);
		fflush(stdout);
		_exit(rc + (fail_at && failalloc_failed_in(plain) ? PLAIN_FAILED : 0));
	}
	close(fds[1]);
	*calls = 0;
	if (read(fds[0], calls, sizeof(*calls)) != (ssize_t)sizeof(*calls))
		*calls = -1;
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	return status;
}

int
main(void)
{
	char dir[] = "/tmp/drive-classify-XXXXXX", tax[128], in0[128], in2[128], out[128];
	long c0, c2, calls, plain = 0, same = 0, clean = 0, aborts = 0, bad = 0;
	char *want;
	int st;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(tax, sizeof(tax), "%s/t.tgt", dir);
	snprintf(in0, sizeof(in0), "%s/none.jsonl", dir);
	snprintf(in2, sizeof(in2), "%s/two.jsonl", dir);
	snprintf(out, sizeof(out), "%s/out.jsonl", dir);
	write_file(tax, taxonomy, sizeof(taxonomy) - 1);
	write_file(in0, "", 0);
	write_file(in2, lines, sizeof(lines) - 1);

	st = run(tax, in0, out, 0, &c0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fprintf(stderr, "drive_classify: dry run without lines failed\n"), 1;
	st = run(tax, in2, out, 0, &c2);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strstr(read_file(out), "\"id\":\"b\"") == NULL)
		return fprintf(stderr, "drive_classify: dry run with two lines failed\n"), 1;
	want = strdup(read_file(out));
	if (want == NULL)
		die("strdup");
	if (c0 <= 0 || c2 <= c0)
		return fprintf(stderr, "drive_classify: allocation counts %ld, %ld\n", c0, c2), 1;

	for (long k = c0 + 1; k <= c2; k++) {
		const char *o;

		st = run(tax, in2, out, k, &calls);
		if (WIFSIGNALED(st)) {
			if (WTERMSIG(st) == SIGABRT) {
				aborts++;
				continue;
			}
			printf("allocation %ld: killed by signal %d\n", k, WTERMSIG(st));
			bad++;
			continue;
		}
		o = read_file(out);
		if ((WEXITSTATUS(st) & PLAIN_FAILED) && WEXITSTATUS(st) == PLAIN_FAILED &&
		    strcmp(o, want) == 0) {
			same++; /* tg_text_plain found a way round */
			continue;
		}
		if (WEXITSTATUS(st) & PLAIN_FAILED) {
			/* The line whose plain text failed reports it; the other is classified. */
			int first = strstr(o, "{\"line\":1,\"error\":\"out of memory\"}") != NULL;
			int second = strstr(o, "{\"line\":2,\"error\":\"out of memory\"}") != NULL;
			int a_ok = strstr(o, "\"id\":\"a\",\"tags\":[\"iraq\",\"strike\"]") != NULL;
			int b_ok = strstr(o, "\"id\":\"b\",\"tags\":[\"iraq\",\"strike\"]") != NULL;

			plain++;
			if ((WEXITSTATUS(st) & ~PLAIN_FAILED) != 1 || !((first && b_ok) || (second && a_ok))) {
				printf("allocation %ld (tg_text_plain): exit %d, output:\n%s", k,
				    WEXITSTATUS(st) & ~PLAIN_FAILED, o);
				bad++;
			}
			continue;
		}
		if (WEXITSTATUS(st) > 1) {
			printf("allocation %ld: exit status %d\n", k, WEXITSTATUS(st));
			bad++;
			continue;
		}
		clean++;
	}
	printf("classify --html: %ld allocations for two lines; failed in tg_text_plain: %ld "
	    "reported as 'out of memory' with the other line classified, %ld with the very "
	    "same output; %ld other clean ends, %ld aborts (tg_malloc), %ld bad\n", c2 - c0,
	    plain, same, clean, aborts, bad);
	free(want);
	unlink(tax);
	unlink(in0);
	unlink(in2);
	unlink(out);
	if (check_failed_scan(dir) != 0)
		bad++;
	rmdir(dir);
	return bad || plain < 2 ? 1 : 0;
}
