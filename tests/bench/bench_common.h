/* SPDX-License-Identifier: MIT */
/* Shared by the benchmark workloads in tests/bench/: a fixed-seed PRNG (so every run of a
 * workload makes the same calls) and the checksum line that scripts/bench.py compares between
 * the plain run and every profiled run. */
#ifndef MP_BENCH_COMMON_H
#define MP_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* xorshift64*: cheap, deterministic, no libc state (rand() would take a lock). */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Folds a value into a running checksum (FNV-1a style on 64-bit words). */
static inline uint64_t bench_mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static inline long bench_arg(int argc, char **argv, int i, long def)
{
	return argc > i ? strtol(argv[i], NULL, 10) : def;
}

/* One line, always first word "checksum": the harness compares these lines only, so tool
 * banners (heaptrack's) on the same stream do not count as an output change. */
static inline void bench_print(const char *name, uint64_t h)
{
	printf("checksum %s %016llx\n", name, (unsigned long long)h);
}

#endif
