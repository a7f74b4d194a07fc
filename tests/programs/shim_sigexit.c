/* SPDX-License-Identifier: MIT */
/* A signal handler that ends the process while the main thread is inside malloc
 * (tests/integration/shim_life.sh): usage shim_sigexit _exit|exit. One idle thread makes glibc's
 * malloc take its arena lock; a SIGALRM handler calls _exit(0) (async-signal-safe) or exit(0)
 * (a common service pattern) after 20 ms. The final dump read the allocator's statistics,
 * which take that lock: the process hung, about one run in two. It must exit 0 every time. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int use_exit;

static void on_alarm(int sig)
{
	(void)sig;
	if (use_exit)
		exit(0);
	_exit(0);
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

int main(int argc, char **argv)
{
	use_exit = argc > 1 && strcmp(argv[1], "exit") == 0;
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);
	signal(SIGALRM, on_alarm);
	struct itimerval it = {{0, 0}, {0, 20000}};
	setitimer(ITIMER_REAL, &it, NULL);
	for (unsigned i = 0;; i++) {
		void *p = malloc(64 + (i % 4096));
		__asm__ volatile("" ::"r"(p) : "memory");
		free(p);
	}
}
