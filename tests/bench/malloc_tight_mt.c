/* SPDX-License-Identifier: MIT */
/* The tight loop of malloc_tight.c on NTHREADS threads at once, NOPS operations each, each
 * thread with its own 64 slots and seed. Usage: malloc_tight_mt [NOPS=12500000] [NTHREADS=4] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench_common.h"

#define SLOTS	    64
#define MAX_THREADS 64

struct job {
	pthread_t tid;
	long nops;
	uint64_t seed;
	uint64_t result;
};

static void *tight_thread(void *arg)
{
	struct job *j = arg;
	void *slot[SLOTS] = {0};
	uint64_t rng = j->seed, h = 0;

	for (long i = 0; i < j->nops; i++) {
		unsigned idx = (unsigned)i & (SLOTS - 1);
		size_t sz = 16 + (size_t)(bench_rand(&rng) % 241);
		free(slot[idx]);
		unsigned char *p = malloc(sz);
		p[0] = (unsigned char)i;
		p[sz - 1] = (unsigned char)sz;
		slot[idx] = p;
		h += sz;
	}
	for (unsigned i = 0; i < SLOTS; i++)
		free(slot[i]);
	j->result = h;
	return NULL;
}

int main(int argc, char **argv)
{
	long nops = bench_arg(argc, argv, 1, 12500000);
	long nthreads = bench_arg(argc, argv, 2, 4);
	struct job jobs[MAX_THREADS];
	uint64_t h = 0;

	if (nthreads < 1 || nthreads > MAX_THREADS)
		nthreads = 4;
	for (long t = 0; t < nthreads; t++) {
		jobs[t].nops = nops;
		jobs[t].seed = 0x2545F4914F6CDD1DULL + (uint64_t)t * 0x9e3779b97f4a7c15ULL;
		if (pthread_create(&jobs[t].tid, NULL, tight_thread, &jobs[t]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	for (long t = 0; t < nthreads; t++) {
		pthread_join(jobs[t].tid, NULL);
		h = bench_mix(h, jobs[t].result);
	}
	bench_print("malloc_tight_mt", h);
	return 0;
}
