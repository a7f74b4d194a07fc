// SPDX-License-Identifier: MIT
/* Unit tests of analyzer/estimate.c: exact at rate 1, nothing at rate 0, the closed form
 * c / (1 - exp(-s/R)) elsewhere, and unbiasedness against a simulated sampler. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "estimate.h"

static void exact_and_off(void **state)
{
	assert_int_equal(mp_estimate_objects(7, 64, 1, 0.5), 7);
	assert_int_equal(mp_estimate_bytes(7, 64, 1), 448);
	assert_int_equal(mp_estimate_objects(7, 1, 1, 0.5), 7); /* not 7 / (1 - e^-1) */
	assert_int_equal(mp_estimate_objects(7, 64, 0, 0.5), 0);
	assert_int_equal(mp_estimate_bytes(7, 64, 0), 0);
	assert_int_equal(mp_estimate_objects(0, 64, 512, 0.5), 0);
	/* integers beyond 2^53 stay exact at rate 1, and saturate rather than wrap */
	assert_int_equal(mp_estimate_objects((1ull << 60) + 1, 8, 1, 0.5), (1ll << 60) + 1);
	assert_int_equal(mp_estimate_bytes(1ull << 62, 8, 1), INT64_MAX);
	assert_int_equal(mp_estimate_objects(UINT64_MAX, 8, 1, 0.5), INT64_MAX);
}

static void closed_form(void **state)
{
	/* s = R: 1 / (1 - e^-1) = 1.5819767 */
	assert_int_equal(mp_estimate_objects(1000, 512, 512, 0.5), 1582);
	assert_int_equal(mp_estimate_bytes(1000, 512, 512), 809972);
	/* s << R: ~ R/s + 1/2 */
	assert_true(fabs(mp_estimate_scale(1, 524288) - 524288.5) < 0.01);
	/* s >> R: ~ 1 */
	assert_true(fabs(mp_estimate_scale(1 << 30, 4096) - 1.0) < 1e-12);
	/* size 0 cannot be sampled by bytes; a recorded one counts as itself */
	assert_true(mp_estimate_scale(0, 4096) == 1.0);
	/* bytes are rounded once from the exact product */
	assert_int_equal(mp_estimate_bytes(3, 100, 1000), (int64_t)llround(300 / -expm1(-0.1)));
}

/* Simulates the shim's sampler (exponential gaps of mean R over the byte stream) on n objects
 * of size s, and checks that the estimate is within 5 standard deviations of n. The standard
 * deviation of c/p is sqrt(n (1-p) / p); with a fixed seed the outcome is fixed, and for a
 * random seed the chance of a false failure would be below 1e-6 per case. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static void unbiased_by_simulation(void **state)
{
	const uint64_t rate = 4096;
	const uint64_t sizes[] = {16, 512, 4096, 40000, 1 << 20};
	const uint64_t n = 200000;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t s = sizes[k], c = 0;
		double next = -log(uniform()) * (double)rate; /* bytes until the next sample */
		for (uint64_t i = 0; i < n; i++) {
			if ((double)s >= next) { /* the object contains a sampling point */
				c++;
				next = -log(uniform()) * (double)rate;
			} else {
				next -= (double)s;
			}
		}
		double p = -expm1(-(double)s / (double)rate);
		double sd = sqrt((double)n * (1 - p) / p);
		int64_t est = mp_estimate_objects(c, s, rate, 0.5);
		if (fabs((double)est - (double)n) > 5 * sd + 1)
			fail_msg("size %llu: estimate %lld for %llu objects (sd %.1f)",
				 (unsigned long long)s, (long long)est, (unsigned long long)n, sd);
	}
}

/* Many groups of one large object each (one stack or size apiece), as in a profile of 1 MiB
 * buffers: a sampled group stands for 1/p = 1.157 objects. Rounded to the nearest every such
 * group reads 1 and the total reads p = 86% of the truth; dithered (u uniform) the integers
 * sum to an unbiased total. Fixed seed; for a random one a false failure (5 sd) is below 1e-6. */
static void dithered_groups_unbiased(void **state)
{
	const uint64_t rate = 524288, s = 1 << 20, n = 20000;
	double p = -expm1(-(double)s / (double)rate);
	int64_t sum = 0, nearest = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t c = uniform() < p; /* the object holds a sampling point */
		sum += mp_estimate_objects(c, s, rate, uniform() * 0.999999);
		nearest += mp_estimate_objects(c, s, rate, 0.5);
	}
	double sd = sqrt((double)n * (1 - p) / p + (double)n / 12);
	if (fabs((double)sum - (double)n) > 5 * sd)
		fail_msg("dithered: %lld for %llu objects (sd %.1f)", (long long)sum,
			 (unsigned long long)n, sd);
	/* and the test can tell: rounding to the nearest is far off */
	assert_true(fabs((double)nearest - (double)n) > 20 * sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exact_and_off),
	    cmocka_unit_test(closed_form),
	    cmocka_unit_test(unbiased_by_simulation),
	    cmocka_unit_test(dithered_groups_unbiased),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
