// SPDX-License-Identifier: MIT
/* Ends that skipped the final dump (tests/integration/shim_life.sh). main makes 10 x malloc(88)
 * in main_work, kept.
 *   shim_dtorexit dtor       main returns 0; the executable's destructor makes 3 x malloc(44)
 *                            in dtor_work and calls exit(9): glibc's nested exit ends the
 *                            process from inside the loader's destructor loop, before the
 *                            profiler's own destructor could arm the final dump (none came).
 *   shim_dtorexit dtor-exit  the same, main calling exit(0) instead of returning.
 *   shim_dtorexit term       a SIGTERM handler calls exit(7); another thread sends SIGTERM
 *                            after 30 ms, while main allocates in a loop: the handler may
 *                            interrupt the profiler (then no dump, and one mapprof: line says
 *                            why). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *volatile keep;
static int mode_exit;

__attribute__((noinline)) void main_work(void)
{
	for (int i = 0; i < 10; i++)
		keep = malloc(88);
}

__attribute__((noinline)) void dtor_work(void)
{
	for (int i = 0; i < 3; i++)
		keep = malloc(44);
}

static int dtor_mode;

__attribute__((destructor)) static void last_words(void)
{
	if (!dtor_mode)
		return;
	dtor_work();
	exit(9);
}

__attribute__((noinline)) static void *odd_site(size_t n)
{
	return malloc(n);
}

static void on_term(int sig)
{
	(void)sig;
	exit(7);
}

/* Sends SIGTERM to main's thread at a moment of the loop (this thread blocks it). */
static void *terminator(void *arg)
{
	(void)arg;
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	struct timespec ts = {0, 30 * 1000 * 1000};
	nanosleep(&ts, NULL);
	kill(getpid(), SIGTERM);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "dtor";
	main_work();
	if (strcmp(mode, "term") == 0) {
		signal(SIGTERM, on_term);
		pthread_t t;
		if (pthread_create(&t, NULL, terminator, NULL) != 0)
			return 2;
		static void *live[256]; /* sampled objects freed later: table work in the shim */
		for (unsigned long i = 0;; i++) {
			free(live[i & 255]);
			live[i & 255] = i & 1 ? odd_site(16 + (i * 7919) % 4000) : malloc(i & 4095);
		}
	}
	dtor_mode = 1;
	mode_exit = strcmp(mode, "dtor-exit") == 0;
	if (mode_exit)
		exit(0);
	return 0;
}
