// SPDX-License-Identifier: MIT
// presize (tests/integration/churn.sh): many std::unordered_map filled to the same size from
// empty, each growing several times on the way. Built with -DFIXED, each map first calls
// reserve(ELEMS): one explicit grow and no other, so the site reserves and must not get presize.
// Prints "build_index instances N grows G explicit E max M grow_bytes B", counted by the program
// itself (bucket_count() watched around every call).
#include <cstdio>
#include <unordered_map>
#include <vector>
#include "churn_common.h"

#define MAPS  64
#define ELEMS 500

static unsigned grows, explicit_grows;
static size_t grow_bytes;

static void watch(const std::unordered_map<int, int> &m, size_t before, unsigned *counter)
{
	if (m.bucket_count() != before) {
		(*counter)++;
		grow_bytes += m.bucket_count() * sizeof(void *);
	}
}

extern "C" __attribute__((noinline)) void build_index(std::unordered_map<int, int> &m)
{
#ifdef FIXED
	size_t b0 = m.bucket_count();
	m.reserve(ELEMS); /* SITE_FIXED */
	watch(m, b0, &explicit_grows);
#endif
	for (int k = 0; k < ELEMS; k++) {
		size_t b = m.bucket_count();
		m.emplace(k * 7, k); /* SITE */
		watch(m, b, &grows);
	}
}

int main()
{
	other_work(8 << 20, 100);
	std::vector<std::unordered_map<int, int>> maps(MAPS); // all alive at once: no reuse
	long sum = 0;
	for (auto &m : maps) {
		build_index(m);
		sum += m.at(7 * (ELEMS - 1));
	}
	maps.clear();
	std::printf("build_index instances %d grows %u explicit %u max %d grow_bytes %zu\n", MAPS,
		    grows, explicit_grows, ELEMS, grow_bytes);
	std::printf("checksum %ld\n", sum);
	return 0;
}
