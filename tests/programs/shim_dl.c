/* SPDX-License-Identifier: MIT */
/* dlopen/dlclose of a library that allocates (tests/integration/shim_life.sh). The program
 * dlopens argv[1] (this file built with -DSHIM_AS_LIB -shared), calls dl_work (40 x
 * malloc(300) in dl_site, kept), dumps through MAPPROF_DUMP() while the library is loaded,
 * calls dl_release (frees them), dlcloses it, and does it all a second time, with argv[2] if
 * given: built with -DSHIM_DL_B too, it allocates 40 x malloc(301) in dl_site_b, and the loader
 * usually maps it where the first one was. With -DSHIM_DL_CTOR the library's constructor
 * sleeps 300 ms, then opens and closes libm (tests/programs/shim_dlstress.c, mode ctor). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mapprof.h"

#define NOINLINE __attribute__((noinline, noclone))

#ifdef SHIM_AS_LIB
static void *objs[40];

#ifdef SHIM_DL_CTOR
/* A constructor that probes for another library while the loader's lock is held. */
__attribute__((constructor)) static void probe(void)
{
	usleep(300000);
	void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
	if (h)
		dlclose(h);
}
#endif

#ifdef SHIM_DL_B
NOINLINE void dl_site_b(void)
{
	for (int i = 0; i < 40; i++)
		objs[i] = malloc(301);
}
#define dl_site dl_site_b
#else
NOINLINE void dl_site(void)
{
	for (int i = 0; i < 40; i++)
		objs[i] = malloc(300);
}
#endif

int dl_work(void)
{
	dl_site();
	for (int i = 0; i < 40; i++)
		if (!objs[i])
			return -1;
	return 0;
}

void dl_release(void)
{
	for (int i = 0; i < 40; i++)
		free(objs[i]);
}
#else
int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	for (int round = 0; round < 2; round++) {
		void *h = dlopen(argv[round && argc > 2 ? 2 : 1], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			const char *e = dlerror();
			write(2, e, strlen(e));
			write(2, "\n", 1);
			return 3;
		}
		int (*work)(void) = (int (*)(void))dlsym(h, "dl_work");
		void (*release)(void) = (void (*)(void))dlsym(h, "dl_release");
		if (!work || !release || work() != 0)
			return 4;
		if (round == 0)
			MAPPROF_DUMP();
		release();
		dlclose(h);
	}
	write(1, "dl ok\n", 6);
	return 0;
}
#endif
