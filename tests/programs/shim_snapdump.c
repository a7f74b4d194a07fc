/* SPDX-License-Identifier: MIT */
/* Snapshots taken while other threads allocate (tests/integration/shim_threads.sh): four
 * threads malloc, realloc and free blocks of 16..1040 bytes while the main thread calls
 * mapprof_dump() 25 times. In exact mode every snapshot must add up: no more samples than
 * allocation calls, no more sampled bytes than bytes allocated, no more in use than allocated. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "mapprof.h"

static atomic_int stop;

static void *churn(void *arg)
{
	unsigned s = (unsigned)(unsigned long)arg * 2654435761u + 1;
	void *keep[64] = {0};
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		s = s * 1103515245u + 12345u;
		unsigned i = (s >> 8) & 63;
		size_t n = 16 + ((s >> 16) & 1023);
		if (s & 1) { /* a realloc forgets its block before the real call, as a free */
			void *q = realloc(keep[i], n);
			if (q)
				keep[i] = q;
		} else {
			free(keep[i]);
			keep[i] = malloc(n);
		}
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

int main(void)
{
	pthread_t th[4];
	for (long i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, churn, (void *)i) != 0)
			return 1;
	int failed = 0;
	for (int k = 0; k < 25; k++) {
		struct timespec ts = {0, 4 * 1000 * 1000};
		nanosleep(&ts, NULL);
		failed += MAPPROF_DUMP() != 0;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("snapdump failed %d\n", failed);
	return 0;
}
