// SPDX-License-Identifier: MIT
// operator new that fails for good (tests/integration/shim_regress.sh): aligned, nothrow and
// plain forms, N times each. The bad_alloc object that the failing operator allocates is the
// program's allocation, freed by its catch: an aligned new (and every form over jemalloc)
// allocated it under the shim's guard, uncounted, while its free was counted. Prints
// "caught C". With "handler", each round first runs a new-handler that uninstalls itself and
// makes a failing new of its own (over jemalloc, whose operator reads the handler with
// set_new_handler(nullptr) and sets it back, the set back read as "no handler": the guard went
// down twice and wrapped, and the profile was lost). With "thrower", a new-handler that throws
// bad_alloc: a nothrow operator catches it and frees it (uncounted, while its allocation was
// counted). Usage: shim_badalloc N [handler|thrower]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

static int handled;

static void thrower()
{
	throw std::bad_alloc();
}

static void nested_handler()
{
	std::set_new_handler(nullptr);
	try {
		void *p = ::operator new(SIZE_MAX / 4);
		::operator delete(p);
	} catch (std::bad_alloc &) {
		handled++;
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5, caught = 0;
	bool handler = argc > 2 && !strcmp(argv[2], "handler");
	if (argc > 2 && !strcmp(argv[2], "thrower"))
		std::set_new_handler(thrower);
	for (int i = 0; i < n; i++) {
		if (handler)
			std::set_new_handler(nested_handler);
		try {
			void *p = ::operator new(SIZE_MAX / 2, std::align_val_t(64));
			::operator delete(p, std::align_val_t(64));
		} catch (std::bad_alloc &) {
			caught++;
		}
		caught += ::operator new(SIZE_MAX / 2, std::nothrow) == nullptr;
		caught +=
		    ::operator new(SIZE_MAX / 2, std::align_val_t(64), std::nothrow) == nullptr;
		try {
			void *p = ::operator new(SIZE_MAX / 2);
			::operator delete(p);
		} catch (std::bad_alloc &) {
			caught++;
		}
	}
	for (int i = 0; i < 1000; i++) { // counted after the failures too
		int *volatile p = new int(i);
		delete p;
	}
	std::printf("caught %d handled %d\n", caught, handled);
	return 0;
}
