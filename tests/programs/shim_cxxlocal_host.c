/* SPDX-License-Identifier: MIT */
/* The C host of shim_cxxlocal.cc: dlopens argv[1] RTLD_LOCAL (dlopen's default), runs cxx_work
 * and cxx_try, and exits 0 only if cxx_try saw operator new behave as without the shim. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 2;
	}
	void (*work)(void) = (void (*)(void))dlsym(h, "cxx_work");
	int (*try_)(void) = (int (*)(void))dlsym(h, "cxx_try");
	if (!work || !try_)
		return 2;
	work();
	int ok = try_();
	printf("host: %s\n", ok ? "operator new as without the shim" : "operator new changed");
	return ok ? 0 : 1;
}
