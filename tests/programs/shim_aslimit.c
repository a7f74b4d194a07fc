/* SPDX-License-Identifier: MIT */
/* A program under an address-space limit a few MiB above its size (tests/integration/
 * shim_config.sh), keeping a million 16-byte blocks in exact mode: the profiler's tables run
 * out of room first, and their samples are dropped. Usage: shim_aslimit MIB; prints how many
 * blocks it got. Its status is 0 either way. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static long vm_size(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;
	if (!f || fscanf(f, "%ld", &pages) != 1)
		pages = 0;
	if (f)
		fclose(f);
	return pages * 4096;
}

int main(int argc, char **argv)
{
	long extra = (argc > 1 ? atol(argv[1]) : 8) << 20, n = 1000000, got = 0;
	void **keep = calloc((size_t)n, sizeof(*keep));
	if (!keep)
		return 2;
	struct rlimit r = {(rlim_t)(vm_size() + extra), RLIM_INFINITY};
	if (setrlimit(RLIMIT_AS, &r) != 0)
		return 3;
	for (long i = 0; i < n; i++)
		got += (keep[i] = malloc(16)) != NULL;
	printf("got %s\n", got > 0 ? "some" : "none");
	for (long i = 0; i < n; i++)
		free(keep[i]);
	return 0;
}
