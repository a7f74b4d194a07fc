// SPDX-License-Identifier: MIT
// A C++ library loaded RTLD_LOCAL by a C program (a plugin, a Python extension through ctypes):
// its libstdc++ is not in the global scope, where the shim's dlsym(RTLD_NEXT) looks
// (tests/integration/shim_life.sh). Built -shared; its C host is shim_cxxlocal_host.c.
// cxx_try: new of an impossible size throws bad_alloc, also after calling a new-handler that
// gives up, and get_new_handler returns the handler set. cxx_work: 25 x new int[10] at
// cxx_site, kept: exactly these at that site in exact mode (nothing of the shim's lookups).
#include <cstdint>
#include <cstdio>
#include <new>

static int handler_calls;
static void handler()
{
	handler_calls++;
	std::set_new_handler(nullptr);
}

extern "C" int cxx_try(void)
{
	volatile size_t n = SIZE_MAX / 4;
	int caught = 0;
	try {
		char *p = new char[n];
		delete[] p;
	} catch (const std::bad_alloc &) {
		caught |= 1;
	}
	std::set_new_handler(handler);
	if (std::get_new_handler() == handler)
		caught |= 2;
	try {
		char *p = new char[n];
		delete[] p;
	} catch (const std::bad_alloc &) {
		caught |= 4;
	}
	std::printf("cxx_try: caught %d handler_calls %d\n", caught, handler_calls);
	return caught == 7 && handler_calls == 1;
}

// Visible outside: the compiler may not drop the allocations.
extern "C" int *cxx_kept[25];
int *cxx_kept[25];

extern "C" __attribute__((noinline)) void cxx_site(void)
{
	for (int i = 0; i < 25; i++)
		cxx_kept[i] = new int[10];
}

extern "C" void cxx_work(void)
{
	cxx_site();
}
