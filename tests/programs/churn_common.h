/* SPDX-License-Identifier: MIT */
/* Shared by the verdict programs (tests/programs/churn_*, tests/integration/churn.sh): the rest
 * of a program's work, so that a map site is judged in proportion to a whole program and not
 * found "dominant" only because the program does nothing else. */
#ifndef CHURN_COMMON_H
#define CHURN_COMMON_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Written so that the compiler cannot drop a malloc/free pair it sees unused. */
static void *volatile churn_sink;

/* `bytes` allocated in 4 KiB blocks, each touched and freed at once, then `ms` milliseconds of
 * waiting (a service's I/O). */
__attribute__((unused)) static void other_work(size_t bytes, unsigned ms)
{
	for (size_t done = 0; done < bytes; done += 4096) {
		char *p = (char *)malloc(4096);
		memset(p, (int)done, 4096);
		churn_sink = p;
		free(churn_sink);
	}
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

#endif
