/* SPDX-License-Identifier: MIT */
/* 16 threads allocate and free each other's objects (tests/integration/shim_threads.sh).
 * Thread t allocates K objects of 32 + t bytes in thread_alloc; after a barrier it frees all
 * but KEEP of the objects of thread (t + 1) % 16. Exact mode truth per size 32 + t:
 * K allocations, KEEP in use. Then 16 short-lived threads run one after another (records are
 * reused) and each makes 5 x malloc(7) in short_alloc, freed by main; at its exit a pthread key
 * destructor of the program (run after the profiler's own, whose key is older) makes 3 x
 * malloc(9) in key_alloc, frees one and leaves two to main. No stdio. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define NT	 16
#define K	 2000
#define KEEP	 10
#define NOINLINE __attribute__((noinline, noclone))

static void *objs[NT][K];
static void *volatile shorts[NT][5];
static void *volatile keyobjs[NT][2];
static pthread_key_t key;
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

NOINLINE void key_alloc(int t)
{
	void *volatile once = malloc(9);
	free(once);
	for (int i = 0; i < 2; i++)
		keyobjs[t][i] = malloc(9);
}

static void key_dtor(void *v)
{
	key_alloc((int)(long)v - 1);
}

static void *short_worker(void *arg)
{
	short_alloc((int)(long)arg);
	pthread_setspecific(key, (void *)((long)arg + 1));
	return NULL;
}

int main(void)
{
	pthread_t th[NT];
	pthread_barrier_init(&barrier, NULL, NT);
	if (pthread_key_create(&key, key_dtor))
		return 4;
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
		for (int i = 0; i < 2; i++)
			free(keyobjs[t][i]);
	}
	if (bad) {
		write(2, "threads: corrupted object\n", 26);
		return 3;
	}
	write(1, "threads ok\n", 11);
	return 0;
}
