/* SPDX-License-Identifier: MIT */
/* valloc and pvalloc are the allocator's own under the shim (tests/integration/shim_regress.sh):
 * the program gets the same blocks and errors as without it. It got posix_memalign's: glibc's
 * pvalloc(0) became a page, jemalloc's valloc(0) a page and its valloc(huge) set errno. Prints
 * what the program can see. Usage: shim_pagealloc [nopv] (nopv: no pvalloc, which jemalloc
 * does not have: glibc's then serves jemalloc's heap and crashes without the shim). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	void *p = valloc(0);
	printf("valloc(0) usable %zu\n", malloc_usable_size(p));
	free(p);
	errno = 0;
	/* A size no allocator can serve, on purpose: the compiler's warning is not for here. */
	volatile size_t huge = SIZE_MAX - 100;
	p = valloc(huge);
	printf("valloc(huge) %s errno %d\n", p ? "block" : "NULL", errno);
	if (argc > 1 && !strcmp(argv[1], "nopv"))
		return 0;
	p = pvalloc(0);
	printf("pvalloc(0) usable %zu\n", malloc_usable_size(p));
	free(p);
	p = pvalloc(5000);
	printf("pvalloc(5000) usable %zu\n", malloc_usable_size(p));
	free(p);
	errno = 0;
	p = pvalloc(SIZE_MAX - 100);
	printf("pvalloc(huge) %s errno %d\n", p ? "block" : "NULL", errno);
	return 0;
}
