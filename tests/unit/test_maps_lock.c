/* SPDX-License-Identifier: MIT */
/* The maps lock (preload/maps_int.h, maps.c): a word of 0 free, 1 held, 2 held with sleepers.
 * Threads that outnumber the cores and are preempted inside the lock drive it through its
 * spin and its futex sleep (thousands of futex calls a run): every increment made under it
 * must count, and a thread left asleep after the last unlock hangs the test (the alarm ends it
 * as a failure). A no-op lock fails it every time; the narrow window of a lost wakeup (a spin
 * that overwrote a sleeper's 2) it reaches only by chance. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>
#include "maps_int.h"

#define THREADS 8
#define ROUNDS	200000

static uint64_t counter; /* written under the lock only */

static void *hammer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	for (int i = 0; i < ROUNDS; i++) {
		mp_maps_lock();
		counter++;
		/* now and then held across a yield: the others spin out and sleep */
		if ((i + id) % 512 == 0)
			sched_yield();
		mp_maps_unlock();
	}
	return NULL;
}

static void every_increment_counts(void **state)
{
	(void)state;
	alarm(120);
	pthread_t th[THREADS];
	for (uintptr_t t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, hammer, (void *)t), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	alarm(0);
	assert_int_equal(counter, (uint64_t)THREADS * ROUNDS);
	assert_int_equal(__atomic_load_n(&mp_maps_lock_word, __ATOMIC_RELAXED), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_increment_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
