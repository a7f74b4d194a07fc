/* SPDX-License-Identifier: MIT */
/* A thread (w1) whose first heap call is a malloc in the last round of a pthread key's
 * destructors, after the shim's own exit destructor ran; then w2, likely on w1's cached stack,
 * makes 100,000 malloc+free pairs and is still running at exit (tests/integration/
 * shim_threads.sh). The record w1 took was never let go and pointed at w2's TLS: the exit dump
 * counted w2's calls twice. The process makes 64 + 1 + 100,000 allocation calls, and glibc a
 * few of its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_key_t key;
static volatile int w2_done;

static void dtor(void *v)
{
	long round = (long)v;
	if (round < 4) { /* PTHREAD_DESTRUCTOR_ITERATIONS: glibc runs four rounds */
		pthread_setspecific(key, (void *)(round + 1));
		return;
	}
	void *volatile q = malloc(40);
	(void)q;
}

static void *w1(void *arg)
{
	pthread_setspecific(key, (void *)1L);
	return arg;
}

static void *w2(void *arg)
{
	for (int i = 0; i < 100000; i++) {
		void *volatile p = malloc(16);
		free(p);
	}
	w2_done = 1;
	pause();
	return arg;
}

int main(void)
{
	static void *blocks[64];
	pthread_key_create(&key, dtor);
	for (int i = 0; i < 64; i++)
		blocks[i] = malloc(32);
	pthread_t t;
	pthread_create(&t, NULL, w1, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, w2, NULL);
	while (!w2_done)
		usleep(1000);
	printf("lateattach %p\n", blocks[0] ? (void *)1 : NULL);
	return 0;
}
