/* SPDX-License-Identifier: MIT */
/* Two threads call exit(5) at once (tests/integration/shim_life.sh). The second found the exit
 * handlers taken by the first and ended the process while the first wrote the final dump: four
 * runs in five left no dump. Each run must leave one, with status 5.
 * "join": main's exit runs a pool's shutdown handler, which joins a worker that calls exit(3)
 * itself: the worker's exit must go on (waiting for main's exit hung both), status 3.
 * "alt": main's exit handler signals a worker whose handler, on an alternate signal stack,
 * calls exit(3): that exit writes no dump (no room on such a stack), main's still must. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t both;
static void *volatile sink; /* the allocations stay (a malloc/free pair may be elided) */

static void work(int n)
{
	for (int i = 0; i < n; i++) {
		char *p = malloc(32 + (size_t)(i % 3000));
		memset(p, i, 32);
		sink = p;
		free(p);
	}
}

static void *thread(void *a)
{
	(void)a;
	work(1000);
	pthread_barrier_wait(&both);
	exit(5);
}

static pthread_t worker;
static volatile int stop;

static void shutdown_pool(void)
{
	stop = 1;
	pthread_join(worker, NULL);
}

static void *work_until_stopped(void *a)
{
	(void)a;
	while (!stop)
		work(10);
	exit(3);
}

static void on_usr1(int s)
{
	(void)s;
	exit(3);
}

static volatile int ready;

static void *wait_on_altstack(void *a)
{
	(void)a;
	stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
	sigaltstack(&ss, NULL);
	ready = 1;
	for (;;)
		pause();
	return NULL;
}

static void signal_worker(void)
{
	pthread_kill(worker, SIGUSR1);
	sleep(1);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "alt") == 0) {
		struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
		sigaction(SIGUSR1, &sa, NULL);
		work(1000);
		atexit(signal_worker);
		pthread_create(&worker, NULL, wait_on_altstack, NULL);
		while (!ready)
			usleep(1000);
		exit(0);
	}
	if (argc > 1) { /* join */
		pthread_create(&worker, NULL, work_until_stopped, NULL);
		atexit(shutdown_pool);
		work(1000);
		exit(0);
	}
	pthread_barrier_init(&both, NULL, 2);
	work(1000);
	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pthread_barrier_wait(&both);
	exit(5);
}
