/* SPDX-License-Identifier: MIT */
/* The tight loop: NOPS times free one of 64 live slots and malloc 16..256 bytes into it. With
 * DEPTH > 0 the loop runs DEPTH frames deeper (non-inlined, non-tail calls; frame pointers kept)
 * so that stack capture is priced at a realistic depth.
 * Usage: malloc_tight [NOPS=50000000] [DEPTH=0] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench_common.h"

#define SLOTS 64

static __attribute__((noinline)) uint64_t tight_loop(long nops)
{
	void *slot[SLOTS] = {0};
	uint64_t rng = 0x2545F4914F6CDD1DULL, h = 0;

	for (long i = 0; i < nops; i++) {
		unsigned idx = (unsigned)i & (SLOTS - 1);
		size_t sz = 16 + (size_t)(bench_rand(&rng) % 241);
		free(slot[idx]);
		unsigned char *p = malloc(sz);
		p[0] = (unsigned char)i;
		p[sz - 1] = (unsigned char)sz;
		slot[idx] = p;
		h += sz;
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		if (slot[i])
			h = bench_mix(h, ((unsigned char *)slot[i])[0]);
		free(slot[i]);
	}
	return h;
}

/* The volatile add after the call keeps each level a real frame (no tail call). */
static __attribute__((noinline)) uint64_t descend(int depth, long nops)
{
	volatile uint64_t pad = (uint64_t)depth;
	if (depth <= 0)
		return tight_loop(nops);
	uint64_t r = descend(depth - 1, nops);
	return r + pad - (uint64_t)depth;
}

int main(int argc, char **argv)
{
	long nops = bench_arg(argc, argv, 1, 50000000);
	int depth = (int)bench_arg(argc, argv, 2, 0);

	bench_print("malloc_tight", descend(depth, nops));
	return 0;
}
