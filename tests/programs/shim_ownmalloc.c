/* SPDX-License-Identifier: MIT */
/* An executable that defines the malloc family itself (as rustc does), forwarding to glibc's:
 * its calls never reach the shim, whatever LD_PRELOAD's order (tests/integration/
 * shim_regress.sh). Prints what it allocated. */
#include <stdio.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static unsigned long calls;

void *malloc(size_t n)
{
	calls++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t s)
{
	calls++;
	return __libc_calloc(n, s);
}

void *realloc(void *p, size_t n)
{
	calls++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

int main(void)
{
	char *p = malloc(100);
	strcpy(p, "own malloc");
	printf("%s %d\n", p, calls >= 1);
	free(p);
	return 0;
}
