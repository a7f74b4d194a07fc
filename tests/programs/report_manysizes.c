/* SPDX-License-Identifier: MIT */
/* One call site allocating blocks of many distinct sizes (tests/integration/report_e2e.sh): a
 * fixed generator draws 20,000 sizes of 1 to 64 KiB, every fourth block is kept (in use at the
 * exit's dump). At a sampled rate the site holds far more distinct sizes than the shim keeps
 * buckets for, so most of its samples share a mixed bucket whose estimates weigh each object by its
 * own size. The program prints its truth (objects, bytes, live objects, live bytes) and each
 * figure's standard deviation at the rate in MAPPROF_RATE, for the test to bound the estimates. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 20000

static void *keep[N / 4];

__attribute__((noinline)) void *many_sizes(size_t n)
{
	return malloc(n); /* the one site */
}

int main(void)
{
	const char *r = getenv("MAPPROF_RATE");
	double rate = r ? atof(r) : 524288;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	double bytes = 0, live_bytes = 0, var_o = 0, var_b = 0, var_lo = 0, var_lb = 0;
	int kept = 0;
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t s = 1 + (size_t)(x % 65536);
		char *p = many_sizes(s);
		if (!p)
			return 1;
		p[0] = 1;
		/* each object's estimate is w = 1/p with chance p: variance (1 - p) / p per object,
		 * s^2 times that for its bytes */
		double pr = -expm1(-(double)s / rate), v = (1 - pr) / pr;
		bytes += (double)s;
		var_o += v;
		var_b += v * (double)s * (double)s;
		if (i % 4 == 0) {
			keep[kept++] = p;
			live_bytes += (double)s;
			var_lo += v;
			var_lb += v * (double)s * (double)s;
		} else {
			free(p);
		}
	}
	printf("%d %.0f %d %.0f %.1f %.1f %.1f %.1f\n", N, bytes, kept, live_bytes, sqrt(var_o),
	       sqrt(var_b), sqrt(var_lo), sqrt(var_lb));
	return 0; /* the kept blocks are in use at the exit's dump */
}
