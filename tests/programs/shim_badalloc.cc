// SPDX-License-Identifier: MIT
// operator new that fails for good (tests/integration/shim_regress.sh): aligned, nothrow and
// plain forms, N times each. The bad_alloc object that the failing operator allocates is the
// program's allocation, freed by its catch: an aligned new (and every form over jemalloc)
// allocated it under the shim's guard, uncounted, while its free was counted. Prints
// "caught C".  Usage: shim_badalloc N
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5, caught = 0;
	for (int i = 0; i < n; i++) {
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
	std::printf("caught %d\n", caught);
	return 0;
}
