/* SPDX-License-Identifier: MIT */
/* Allocating constructors (tests/integration/shim_life.sh). Built as a program by the Makefile:
 * its constructor makes 5 x malloc(77) in prog_ctor_site, kept. Built again by the test with
 * -DSHIM_AS_LIB -shared: a library preloaded after libmapprof.so, whose constructor runs before
 * the shim's own and so makes the first allocation of the process (the shim initialises
 * lazily inside it): 12 x calloc(3, 11) in lib_ctor_site, kept, and one realloc(NULL, 500)
 * then free. */
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

#ifdef SHIM_AS_LIB
void *volatile lib_keep[12];

NOINLINE void lib_ctor_site(void)
{
	for (int i = 0; i < 12; i++)
		lib_keep[i] = calloc(3, 11);
	void *p = realloc(NULL, 500);
	((volatile char *)p)[0] = 1;
	free(p);
}

__attribute__((constructor)) static void lib_ctor(void)
{
	lib_ctor_site();
}
#else
void *volatile prog_keep[5];

NOINLINE void prog_ctor_site(void)
{
	for (int i = 0; i < 5; i++)
		prog_keep[i] = malloc(77);
}

__attribute__((constructor)) static void prog_ctor(void)
{
	prog_ctor_site();
}

int main(void)
{
	for (int i = 0; i < 5; i++)
		if (!prog_keep[i])
			return 3;
	write(1, "ctor ok\n", 8);
	return 0;
}
#endif
