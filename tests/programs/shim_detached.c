/* SPDX-License-Identifier: MIT */
/* 1,000 short detached threads that never allocate, at most 32 alive at once
 * (tests/integration/shim_threads.sh). glibc frees a detached thread's dtv on the thread itself
 * after its key destructors ran; the shim's first sight of the thread, that free, took a record
 * whose exit destructor never ran, and the exit dump read the dead thread's TLS: a segfault
 * nearly every run. Prints "detached 1000". */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

static int live;

static void *worker(void *arg)
{
	__atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
	return arg;
}

int main(void)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int made = 0;
	for (int i = 0; i < 1000; i++) {
		while (__atomic_load_n(&live, __ATOMIC_SEQ_CST) > 32)
			sched_yield();
		__atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
		pthread_t t;
		if (pthread_create(&t, &at, worker, NULL) == 0)
			made++;
		else
			__atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
	}
	while (__atomic_load_n(&live, __ATOMIC_SEQ_CST) > 0)
		sched_yield();
	printf("detached %d\n", made);
	return 0;
}
