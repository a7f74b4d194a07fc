/* SPDX-License-Identifier: MIT */
/* The sampler: pure arithmetic, no state of its own (Go's runtime/malloc.go nextSample shape).
 *
 * Sample points form a Poisson process over allocated bytes with mean distance `rate`: the
 * distance to the next point is Exp(1/rate). An allocation of s bytes is sampled when a point
 * falls inside it, which by memorylessness happens with probability 1 - exp(-s/rate) whatever
 * was allocated before, so each sampled object of size s stands for 1/(1 - exp(-s/rate))
 * objects (the weight below; the analyzer applies it per (stack, size), never to an average
 * size). rate 1 is exact mode (every allocation, including malloc(0)); rate 0 samples nothing. */
#include <math.h>
#include <stdint.h>
#include "mp.h"

/* splitmix64: turns (base seed, thread index) into well-mixed, distinct per-thread states. */
uint64_t mp_sample_rng_seed(uint64_t base, uint64_t index)
{
	uint64_t z = base + (index + 1) * 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return z ? z : 0x2545F4914F6CDD1Dull; /* xorshift must not start at 0 */
}

/* xorshift64*: fast, good enough for sample spacing, reproducible for a given seed. */
uint64_t mp_sample_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Bytes until the next sample point. Exact mode returns -1 so that every allocation, even of 0
 * bytes, takes the slow path; rate 0 returns the largest value (never sample). */
int64_t mp_sample_next(uint64_t *state, uint64_t rate)
{
	if (rate == 1)
		return -1;
	if (rate == 0)
		return INT64_MAX;
	/* u in (0, 1]: 53 random bits, +1 so that log(u) is finite. */
	double u = (double)((mp_sample_rand(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
	double d = -log(u) * (double)rate;
	if (d >= 9.0e18)
		return INT64_MAX;
	/* The thread's countdown (mp_tls.avail + reserve) fires when an allocation is larger than
	 * what is left, so a point d bytes ahead fires inside the allocation that covers byte
	 * floor(d). */
	return (int64_t)d;
}

/* Objects one sampled object of `size` bytes stands for. */
double mp_sample_weight(uint64_t size, uint64_t rate)
{
	if (rate <= 1)
		return 1.0;
	if (size == 0)
		return 1.0;
	return 1.0 / -expm1(-(double)size / (double)rate);
}
