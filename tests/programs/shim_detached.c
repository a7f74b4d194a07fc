/* SPDX-License-Identifier: MIT */
/* 1,000 short detached threads that never allocate, at most 32 alive at once
 * (tests/integration/shim_threads.sh); each frees FREES blocks the main thread made (default 0).
 * glibc frees a detached thread's dtv on the thread itself after its key destructors ran; the
 * shim's first sight of the thread, or its 64th free (FREES 63), took a record whose exit
 * destructor never ran, and the exit dump read the dead thread's TLS: a segfault nearly every
 * run. Prints "detached 1000". Usage: shim_detached [FREES] */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_FREES 100

static int live, frees;
static void *blocks[1000][MAX_FREES];

static void *worker(void *arg)
{
	void **mine = arg;
	for (int i = 0; i < frees; i++)
		free(mine[i]);
	__atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(int argc, char **argv)
{
	frees = argc > 1 ? atoi(argv[1]) : 0;
	if (frees < 0 || frees > MAX_FREES)
		frees = 0;
	for (int i = 0; i < 1000; i++)
		for (int j = 0; j < frees; j++)
			blocks[i][j] = malloc(32);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int made = 0;
	for (int i = 0; i < 1000; i++) {
		while (__atomic_load_n(&live, __ATOMIC_SEQ_CST) > 32)
			sched_yield();
		__atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
		pthread_t t;
		if (pthread_create(&t, &at, worker, blocks[i]) == 0)
			made++;
		else
			__atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
	}
	while (__atomic_load_n(&live, __ATOMIC_SEQ_CST) > 0)
		sched_yield();
	printf("detached %d\n", made);
	return 0;
}
