/* SPDX-License-Identifier: MIT */
/* Runs into an address-space limit (tests/integration/shim_regress.sh, under ulimit -v).
 * "fill": 5000-byte blocks until malloc fails, then frees half: the final dump, a few kilobytes,
 * found no mapping left and was lost. "keep": 2,000,000 blocks of 24 bytes, all kept: exact mode
 * records more than the profiler's share of the limit holds, and drops samples. Prints what it
 * did. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *v[1 << 20];

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "keep") == 0) {
		size_t kept = 0;
		for (size_t i = 0; i < 2000000; i++)
			kept += malloc(24) != NULL;
		printf("kept %zu\n", kept);
		return 0;
	}
	size_t n = 0;
	while (n < (1 << 20) && (v[n] = malloc(5000)) != NULL)
		n++;
	int e = errno;
	for (size_t i = 0; i < n / 2; i++)
		free(v[i]);
	printf("filled: %s\n", e == ENOMEM ? "ENOMEM" : "no failure");
	return 0;
}
