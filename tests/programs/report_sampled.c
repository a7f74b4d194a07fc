// SPDX-License-Identifier: MIT
/* Known truth for the analyzer's sampled-mode test (tests/integration/report_e2e.sh, run at
 * MAPPROF_RATE=4096 with fixed seeds): sites whose sizes are far below, near and far above the
 * rate, each a function of its own, everything freed except site_big's objects.
 *   tiny_site    200000 x malloc(16)        p = 1 - e^(-16/4096)  = 0.0039
 *   near_site     20000 x malloc(4096)      p = 1 - e^-1          = 0.632
 *   big_site        200 x malloc(1 MiB)     p = 1 - e^-256        = 1, kept live
 */
#include <stdlib.h>

void *volatile sink;
static void *keep[200];

__attribute__((noinline)) static void tiny_site(void)
{
	for (int i = 0; i < 200000; i++) {
		sink = malloc(16);
		free(sink);
	}
}

__attribute__((noinline)) static void near_site(void)
{
	for (int i = 0; i < 20000; i++) {
		sink = malloc(4096);
		free(sink);
	}
}

__attribute__((noinline)) static void big_site(void)
{
	for (int i = 0; i < 200; i++)
		keep[i] = malloc(1 << 20);
}

int main(void)
{
	tiny_site();
	near_site();
	big_site();
	sink = keep[0];
	return 0;
}
