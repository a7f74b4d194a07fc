/* SPDX-License-Identifier: MIT */
/* malloc and free are no cancellation points (tests/integration/shim_threads.sh): a thread with
 * a deferred cancel pending allocates under a mutex, then unlocks it and returns; it must
 * return normally and main must get the mutex. Under the shim a sampled malloc unwinds, and
 * libunwind's validation pipe is read and written: cancellation points, where the thread was
 * cancelled inside malloc, the mutex held (main hung). Prints "thread normal, mutex taken".
 * "exit": the thread with the cancel pending calls exit(3) (not a cancellation point either):
 * the exit dump stops the dump thread of MAPPROF_INTERVAL by joining it, a cancellation point,
 * where the process ended with status 0 and no dump. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int go;
static void *volatile sink;

__attribute__((noinline)) static void alloc_loop(void)
{
	for (long i = 0; i < 200000; i++) {
		sink = malloc(32 + (size_t)(i % 100));
		free(sink);
	}
}

static void *worker(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!go)
		;
	alloc_loop();
	pthread_mutex_unlock(&mu);
	return arg;
}

static void *exiter(void *arg)
{
	while (!go)
		;
	exit(3);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t;
	if (argc > 1) {
		if (pthread_create(&t, NULL, exiter, NULL) != 0)
			return 2;
		pthread_cancel(t);
		go = 1;
		pthread_join(t, NULL);
		return 4; /* not reached: the thread's exit(3) ends the process */
	}
	if (pthread_create(&t, NULL, worker, (void *)7) != 0)
		return 2;
	pthread_cancel(t);
	go = 1;
	void *r;
	pthread_join(t, &r);
	pthread_mutex_lock(&mu);
	printf("thread %s, mutex taken\n", r == PTHREAD_CANCELED ? "cancelled" : "normal");
	return 0;
}
