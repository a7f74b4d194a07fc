// SPDX-License-Identifier: MIT
/* Sample unbiasing. The shim samples by bytes: the gaps between sampling points are exponential
 * with mean R (MAPPROF_RATE), so an allocation of s bytes contains a sampling point with
 * probability p(s) = 1 - exp(-s/R) (memorylessness: the same for every allocation, whatever came
 * before). Each sampled object therefore stands for 1/p(s) objects, and a bucket of c sampled
 * objects of one size for c/p(s): E[c] = n p(s), so E[c/p(s)] = n, unbiased. This is the
 * estimator of Go's runtime/pprof (scaleHeapSample) and of tcmalloc, except that they apply it
 * to the mean size of a stack's bucket; the dump keeps sizes apart, so ours is exact per size.
 *
 * Edge cases: R == 1 records every allocation, the counts are the truth (p is taken as 1, not
 * 1 - e^-s, which would inflate them by up to 58%). R == 0 means sampling was off and there are
 * no samples (scale 0). Size 0 cannot hold a sampling point (p(0) = 0); if a writer records one
 * anyway it is counted as seen (scale 1) rather than divided by zero. */
#include "estimate.h"

#include <math.h>

double mp_estimate_scale(uint64_t size, uint64_t rate)
{
	if (rate == 0)
		return 0.0;
	if (rate == 1 || size == 0)
		return 1.0;
	/* -expm1(-x) keeps precision when s << R, where 1 - exp(-x) cancels. */
	return 1.0 / -expm1(-(double)size / (double)rate);
}

static int64_t round_sat(double v)
{
	if (!(v < 9.2e18)) /* also catches NaN */
		return INT64_MAX;
	return (int64_t)llround(v);
}

int64_t mp_estimate_objects(uint64_t count, uint64_t size, uint64_t rate, double u)
{
	if (rate == 0)
		return 0;
	if (rate == 1) /* exact: no trip through double, which drops bits above 2^53 */
		return count > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)count;
	double v = (double)count * mp_estimate_scale(size, rate);
	if (!(v < 9.2e18))
		return INT64_MAX;
	return (int64_t)floor(v + u);
}

int64_t mp_estimate_bytes(uint64_t count, uint64_t size, uint64_t rate)
{
	if (rate == 0)
		return 0;
	if (rate == 1) { /* exact: integer arithmetic, saturating */
		if (size && count > (uint64_t)INT64_MAX / size)
			return INT64_MAX;
		return (int64_t)(count * size);
	}
	return round_sat((double)count * mp_estimate_scale(size, rate) * (double)size);
}
