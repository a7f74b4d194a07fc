/* SPDX-License-Identifier: MIT */
/* Life-cycle scenarios for tests/integration/shim_life.sh, one per argv[1]:
 *   dump            MAPPROF_DUMP() through the weak API; prints "dump=<rc>" (-1 without the shim)
 *   fork [_Fork [_exit]]  parent: 100 x site_parent(64) kept; child after fork (or _Fork,
 *                   which runs no atfork handlers): 30 x site_child(96) kept, then exit(0) (or
 *                   _exit(0)); prints "fork ok"
 *   exec            10 x site_pre(128) kept, MAPPROF_DUMP(), then exec of itself as "exec2",
 *                   which allocates 7 x site_post(160) kept
 *   execat          10 x site_pre(128) kept, then execveat of itself as "exec2" (no API dump)
 *   forkexec        a fork child: 30 x site_child(96) kept, then exec of itself as "exec2";
 *                   prints "forkexec ok"
 *   daemon FILE     10 x site_pre(128) kept, daemon(1, 1); the daemon: 30 x site_child(96)
 *                   kept, then creates FILE and exits
 *   pexit           main() leaves with pthread_exit; a thread then allocates 7 x site_post(160)
 *   umask           umask(0777), then exit: the dump must still be readable (0600)
 *   signal DIR      4 threads allocate; main sends itself SIGUSR2 three times, waiting each
 *                   time for a new file in DIR; its own SIGUSR1 handler must still run
 *   interval MS     allocates for MS milliseconds
 *   out             writes "to stdout" and "to stderr", exits 7
 * No stdio on the allocation paths being measured. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mapprof.h"

#define NOINLINE __attribute__((noinline, noclone))

void *volatile keep[256]; /* visible and volatile: the compiler must not drop the calls */
static int nkeep;

static void say(const char *s)
{
	write(1, s, strlen(s));
}

NOINLINE void site_parent(void)
{
	for (int i = 0; i < 100; i++)
		keep[nkeep++] = malloc(64);
}

NOINLINE void site_child(void)
{
	for (int i = 0; i < 30; i++)
		keep[nkeep++] = malloc(96);
}

NOINLINE void site_pre(void)
{
	for (int i = 0; i < 10; i++)
		keep[nkeep++] = malloc(128);
}

NOINLINE void site_post(void)
{
	for (int i = 0; i < 7; i++)
		keep[nkeep++] = malloc(160);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && !strstr(e->d_name, ".tmp."))
			n++;
	closedir(d);
	return n;
}

static volatile int stop;
static int started; /* churn threads past their first allocation */
static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	usr1++;
}

NOINLINE void *churn(void *arg)
{
	unsigned n = 0;
	void *ring[64] = {0};
	while (!stop) {
		unsigned i = n++ % 64;
		free(ring[i]);
		ring[i] = malloc(16 + (n % 512));
		if (n == 1) /* each thread is in every dump, however late it is scheduled */
			__atomic_add_fetch(&started, 1, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 64; i++)
		free(ring[i]);
	return NULL;
}

static int do_signal(const char *dir)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, churn, NULL);
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < 4)
		sleep_ms(1);
	for (int k = 0; k < 3; k++) {
		int before = count_files(dir);
		kill(getpid(), SIGUSR2);
		kill(getpid(), SIGUSR1);
		for (int w = 0; w < 1000 && count_files(dir) == before; w++)
			sleep_ms(10);
	}
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int w = 0; w < 100 && usr1 < 3; w++)
		sleep_ms(10);
	char line[32];
	snprintf(line, sizeof(line), "usr1=%d\n", (int)usr1);
	say(line);
	return 0;
}

static int do_interval(long ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	void *ring[64] = {0};
	unsigned n = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
			break;
		for (int i = 0; i < 1000; i++) {
			unsigned k = n++ % 64;
			free(ring[k]);
			ring[k] = malloc(32);
		}
		sleep_ms(1);
	}
	for (int i = 0; i < 64; i++)
		free(ring[i]);
	say("interval ok\n");
	return 0;
}

/* After main() has left with pthread_exit (its thread a zombie: /proc/self reads empty). */
static void *late_post(void *arg)
{
	(void)arg;
	sleep_ms(100);
	site_post();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char line[64];
	if (!strcmp(mode, "dump")) {
		int rc = MAPPROF_DUMP();
		snprintf(line, sizeof(line), "dump=%d\n", rc);
		say(line);
		return 0;
	}
	if (!strcmp(mode, "fork")) {
		site_parent();
		pid_t pid = argc > 2 && !strcmp(argv[2], "_Fork") ? _Fork() : fork();
		if (pid == 0) {
			site_child();
			if (argc > 3 && !strcmp(argv[3], "_exit"))
				_exit(0);
			exit(0);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		say(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "fork ok\n" : "fork: child failed\n");
		return 0;
	}
	if (!strcmp(mode, "exec")) {
		site_pre();
		MAPPROF_DUMP();
		execl("/proc/self/exe", argv[0], "exec2", (char *)NULL);
		return 5;
	}
	if (!strcmp(mode, "forkexec")) {
		pid_t pid = fork();
		if (pid == 0) {
			site_child();
			execl("/proc/self/exe", argv[0], "exec2", (char *)NULL);
			_exit(5);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		say(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "forkexec ok\n" : "forkexec: failed\n");
		return 0;
	}
	if (!strcmp(mode, "execat")) {
		site_pre();
		char *args[] = {argv[0], "exec2", NULL};
		extern char **environ;
		execveat(AT_FDCWD, "/proc/self/exe", args, environ, 0);
		return 5;
	}
	if (!strcmp(mode, "daemon") && argc > 2) {
		site_pre();
		if (daemon(1, 1) != 0)
			return 6;
		site_child();
		close(open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
		return 0;
	}
	if (!strcmp(mode, "pexit")) {
		pthread_t th;
		if (pthread_create(&th, NULL, late_post, NULL) != 0)
			return 6;
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "umask")) {
		umask(0777);
		site_pre();
		return 0;
	}
	if (!strcmp(mode, "exec2")) {
		site_post();
		say("exec2 ok\n");
		return 0;
	}
	if (!strcmp(mode, "signal") && argc > 2)
		return do_signal(argv[2]);
	if (!strcmp(mode, "interval") && argc > 2)
		return do_interval(atol(argv[2]));
	if (!strcmp(mode, "out")) {
		say("to stdout\n");
		write(2, "to stderr\n", 10);
		return 7;
	}
	write(2, "usage: shim_life dump|fork|exec|signal DIR|interval MS|out\n", 58);
	return 2;
}
