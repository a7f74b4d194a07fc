// SPDX-License-Identifier: MIT
// dominant (tests/integration/churn.sh): a std::unordered_set<int> grown from empty to 2^20
// elements, twice; its bucket arrays are most of the bytes the program allocates. Built with
// -DFIXED, the set calls reserve(ELEMS) first: one bucket array of the final size and no growth,
// and dominant must not fire. Prints
// "build_set instances N grows G explicit E max M grow_bytes B".
#include <cstdio>
#include <unordered_set>
#include "churn_common.h"

#define ROUNDS 2
#define ELEMS  (1 << 20)

static unsigned grows, explicit_grows;
static size_t grow_bytes;

extern "C" __attribute__((noinline)) long build_set(void)
{
	std::unordered_set<int> s;
#ifdef FIXED
	size_t b0 = s.bucket_count();
	s.reserve(ELEMS); /* SITE_FIXED */
	if (s.bucket_count() != b0) {
		explicit_grows++;
		grow_bytes += s.bucket_count() * sizeof(void *);
	}
#endif
	for (int k = 0; k < ELEMS; k++) {
		size_t b = s.bucket_count();
		s.insert(k * 11); /* SITE */
		if (s.bucket_count() != b) {
			grows++;
			grow_bytes += s.bucket_count() * sizeof(void *);
		}
	}
	return (long)s.count(11);
}

int main()
{
	long sum = 0;
	for (int r = 0; r < ROUNDS; r++)
		sum += build_set();
	std::printf("build_set instances %d grows %u explicit %u max %d grow_bytes %zu\n", ROUNDS,
		    grows, explicit_grows, ELEMS, grow_bytes);
	std::printf("checksum %ld\n", sum);
	return 0;
}
