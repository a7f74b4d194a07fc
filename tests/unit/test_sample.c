/* SPDX-License-Identifier: MIT */
/* preload/sample.c: the sampler. Statistical checks use fixed seeds, so they are deterministic;
 * each states the chance that a correct sampler would fail it for an unlucky seed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "mp.h"

#define RATE 65536.0

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void exact_mode_always_samples(void **state)
{
	uint64_t s = mp_sample_rng_seed(1, 0);
	uint64_t before = s;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(mp_sample_next(&s, 1), -1);
	/* Exact mode draws nothing: the generator state is untouched. */
	assert_true(s == before);
}

static void rate_zero_never_samples(void **state)
{
	uint64_t s = mp_sample_rng_seed(1, 0);
	for (int i = 0; i < 1000; i++)
		assert_true(mp_sample_next(&s, 0) == INT64_MAX);
}

/* Mean of n = 10^6 draws at R = 65536. Exp(R) has sd R, so the mean has sd R/1000; the bound
 * of 6 sd (0.6%) fails by accident with probability 2e-9 (normal; the sum of 10^6 draws is
 * very nearly normal). floor() lowers the mean by 0.5 byte, negligible. */
static void mean_and_variance(void **state)
{
	for (uint64_t seed = 1; seed <= 3; seed++) {
		uint64_t s = mp_sample_rng_seed(seed, 0);
		const int n = 1000000;
		double sum = 0, sum2 = 0;
		for (int i = 0; i < n; i++) {
			int64_t d = mp_sample_next(&s, (uint64_t)RATE);
			assert_true(d >= 0);
			sum += (double)d;
			sum2 += (double)d * (double)d;
		}
		double mean = sum / n;
		double var = sum2 / n - mean * mean;
		assert_true(fabs(mean - RATE) < 6 * RATE / 1000.0);
		/* Var of Exp(R) is R^2; the sample variance has sd sqrt(8) R^2 / sqrt(n)
		 * (fourth moment 9 R^4): 6 sd = 1.7% of R^2, accidental failure < 1e-6. */
		assert_true(fabs(var / (RATE * RATE) - 1.0) < 6 * sqrt(8.0) / 1000.0);
	}
}

/* Kolmogorov-Smirnov against Exp(R) with n = 10^5: P(D > d) <= 2 exp(-2 n d^2) (DKW), so
 * d = 0.0085 fails by accident with probability 2 exp(-14.45) = 1.1e-6; 0.009 gives 1.9e-7. */
static void distribution_is_exponential(void **state)
{
	const int n = 100000;
	double *x = malloc(n * sizeof(*x));
	assert_non_null(x);
	uint64_t s = mp_sample_rng_seed(42, 7);
	for (int i = 0; i < n; i++)
		x[i] = (double)mp_sample_next(&s, (uint64_t)RATE);
	qsort(x, n, sizeof(*x), cmp_double);
	double dmax = 0;
	for (int i = 0; i < n; i++) {
		/* Draws are floored: compare the CDF at x + 1 (above) and at x (below). */
		double hi = -expm1(-(x[i] + 1) / RATE), lo = -expm1(-x[i] / RATE);
		double d1 = (double)(i + 1) / n - lo, d2 = hi - (double)i / n;
		if (d1 > dmax)
			dmax = d1;
		if (d2 > dmax)
			dmax = d2;
	}
	free(x);
	assert_true(dmax < 0.009);
}

/* Every draw is a usable countdown: non-negative, INT64_MAX at most, also for huge rates. */
static void draws_in_range(void **state)
{
	uint64_t s = mp_sample_rng_seed(3, 0);
	for (int i = 0; i < 100000; i++) {
		assert_true(mp_sample_next(&s, 2) >= 0);
		assert_true(mp_sample_next(&s, UINT64_MAX) >= 0);
	}
	/* At rate 2 the chance a point lands inside a 1-byte allocation is 1 - exp(-1/2): the
	 * countdown is below 1 byte (i.e. 0) that often. n = 10^5, sd 0.0015: 6 sd = 0.009. */
	int zero = 0;
	for (int i = 0; i < 100000; i++)
		zero += mp_sample_next(&s, 2) == 0;
	assert_true(fabs(zero / 100000.0 - (1 - exp(-0.5))) < 0.009);
}

static void seeds_reproducible_and_distinct(void **state)
{
	uint64_t a = mp_sample_rng_seed(5, 0), b = mp_sample_rng_seed(5, 0);
	assert_true(a == b);
	for (int i = 0; i < 100; i++)
		assert_true(mp_sample_next(&a, 1000) == mp_sample_next(&b, 1000));
	/* Per-thread seeds differ, also from the base's neighbours; never zero (xorshift). */
	uint64_t seen[64];
	for (int i = 0; i < 64; i++) {
		seen[i] = mp_sample_rng_seed(5, (uint64_t)i);
		assert_true(seen[i] != 0);
		for (int j = 0; j < i; j++)
			assert_true(seen[i] != seen[j]);
	}
	assert_true(mp_sample_rng_seed(5, 1) != mp_sample_rng_seed(6, 0));
	/* The generator does not get stuck. */
	uint64_t x = mp_sample_rng_seed(0, 0), prev = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t r = mp_sample_rand(&x);
		assert_true(x != 0);
		assert_true(r != prev);
		prev = r;
	}
}

static void weight_formula(void **state)
{
	const uint64_t sizes[] = {1, 8, 64, 1000, 65536, 100000, 1 << 20, 1ull << 40};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double s = (double)sizes[i];
		double want = 1.0 / (1.0 - exp(-s / RATE));
		double got = mp_sample_weight(sizes[i], (uint64_t)RATE);
		assert_true(fabs(got - want) <= 1e-9 * want);
		assert_true(got >= 1.0);
	}
	/* Small sizes: weight ~ R/s + 1/2 (expm1 keeps the precision log1p-style). */
	assert_true(fabs(mp_sample_weight(1, 1ull << 40) - (1099511627776.0 + 0.5)) < 1.0);
	/* Exact mode, rate 0 and size 0 weigh 1. */
	assert_true(mp_sample_weight(12345, 1) == 1.0);
	assert_true(mp_sample_weight(12345, 0) == 1.0);
	assert_true(mp_sample_weight(0, 65536) == 1.0);
	/* Far above the rate an object stands for itself. */
	assert_true(mp_sample_weight(1u << 30, 65536) == 1.0);
}

/* The sampler end to end: feeding allocations of s bytes through the countdown as the shim does
 * (countdown -= s; fire when < 0; redraw) samples a fraction 1 - exp(-s/R) of them. n = 10^6
 * allocations of 64 B: mean 976 samples, sd 31: 6 sd bound, accidental failure 2e-9. */
static void countdown_samples_the_right_fraction(void **state)
{
	const uint64_t sizes[] = {64, 65536, 1 << 20};
	for (size_t k = 0; k < 3; k++) {
		uint64_t s = mp_sample_rng_seed(11, k);
		const int n = 1000000;
		int64_t countdown = mp_sample_next(&s, (uint64_t)RATE);
		long hits = 0;
		for (int i = 0; i < n; i++) {
			countdown -= (int64_t)sizes[k];
			if (countdown < 0) {
				hits++;
				countdown = mp_sample_next(&s, (uint64_t)RATE);
			}
		}
		double p = -expm1(-(double)sizes[k] / RATE);
		double sd = sqrt(n * p * (1 - p));
		assert_true(fabs(hits - n * p) <= 6 * sd + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exact_mode_always_samples),
	    cmocka_unit_test(rate_zero_never_samples),
	    cmocka_unit_test(mean_and_variance),
	    cmocka_unit_test(distribution_is_exponential),
	    cmocka_unit_test(draws_in_range),
	    cmocka_unit_test(seeds_reproducible_and_distinct),
	    cmocka_unit_test(weight_formula),
	    cmocka_unit_test(countdown_samples_the_right_fraction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
