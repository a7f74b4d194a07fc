/* SPDX-License-Identifier: MIT */
/* Sampled-mode workload with known truth (tests/integration/shim_sampled.sh):
 *   site_small   SMALL_N x malloc(64), every 4th kept until exit (in use), the rest freed
 *   site_near    NEAR_N x malloc(65536), all freed
 *   site_far     FAR_N x malloc(1 MiB), all freed
 *   site_mixed   for k = 0..16: MIX_N[k] x malloc(16 << k) (16 B .. 1 MiB), all freed: the
 *                per-(stack, size) unbiasing must get total bytes right for mixed sizes.
 * No stdio. The counts are repeated in the test script; keep them in step. */
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define SMALL_N	 2000000
#define NEAR_N	 20000
#define FAR_N	 2000

static void *volatile sink;
static void **kept;

NOINLINE void site_small(void)
{
	for (long i = 0; i < SMALL_N; i++) {
		void *p = malloc(64);
		if (i % 4 == 0)
			kept[i / 4] = p;
		else
			free(p);
	}
}

NOINLINE void site_near(void)
{
	for (int i = 0; i < NEAR_N; i++) {
		void *p = malloc(65536);
		sink = p;
		free(p);
	}
}

NOINLINE void site_far(void)
{
	for (int i = 0; i < FAR_N; i++) {
		void *p = malloc(1 << 20);
		sink = p;
		free(p);
	}
}

/* 16 << k bytes, n = 2^(20 - k) / 4 + 200 objects: every size carries a comparable share. */
NOINLINE void site_mixed(void)
{
	for (int k = 0; k <= 16; k++) {
		long n = (1L << (20 - k)) / 4 + 200;
		for (long i = 0; i < n; i++) {
			void *p = malloc((size_t)16 << k);
			sink = p;
			free(p);
		}
	}
}

int main(void)
{
	kept = calloc(SMALL_N / 4 + 1, sizeof(void *));
	if (!kept)
		return 4;
	site_small();
	site_near();
	site_far();
	site_mixed();
	write(1, "sampled ok\n", 11);
	return 0;
}
