/* SPDX-License-Identifier: MIT */
/* 16 threads allocate and free each other's objects (tests/integration/shim_threads.sh).
 * Thread t allocates K objects of 32 + t bytes in thread_alloc; after a barrier it frees all
 * but KEEP of the objects of thread (t + 1) % 16. Exact mode truth per size 32 + t:
 * K allocations, KEEP in use. Then 16 short-lived threads run one after another (records are
 * reused) and each makes 5 x malloc(7) in short_alloc, freed by main. No stdio. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define NT	 16
#define K	 2000
#define KEEP	 10
#define NOINLINE __attribute__((noinline, noclone))

static void *objs[NT][K];
static void *volatile shorts[NT][5];
static pthread_barrier_t barrier;
static volatile int bad;

NOINLINE void thread_alloc(int t)
{
	for (int i = 0; i < K; i++) {
		objs[t][i] = malloc(32 + t);
		if (!objs[t][i])
			bad = 1;
		else
			((volatile char *)objs[t][i])[0] = (char)t;
	}
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	thread_alloc(t);
	pthread_barrier_wait(&barrier);
	int victim = (t + 1) % NT;
	for (int i = KEEP; i < K; i++) {
		if (((volatile char *)objs[victim][i])[0] != (char)victim)
			bad = 1;
		free(objs[victim][i]);
	}
	return NULL;
}

NOINLINE void short_alloc(int t)
{
	for (int i = 0; i < 5; i++)
		shorts[t][i] = malloc(7);
}

static void *short_worker(void *arg)
{
	short_alloc((int)(long)arg);
	return NULL;
}

int main(void)
{
	pthread_t th[NT];
	pthread_barrier_init(&barrier, NULL, NT);
	for (long t = 0; t < NT; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t))
			return 4;
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	for (long t = 0; t < NT; t++) {
		pthread_t s;
		if (pthread_create(&s, NULL, short_worker, (void *)t))
			return 4;
		pthread_join(s, NULL);
		for (int i = 0; i < 5; i++)
			free(shorts[t][i]);
	}
	if (bad) {
		write(2, "threads: corrupted object\n", 26);
		return 3;
	}
	write(1, "threads ok\n", 11);
	return 0;
}
