// SPDX-License-Identifier: MIT
// presize after a reserve that is too small (tests/integration/churn.sh): each map first calls
// reserve(16), then grows several times more to 500 elements; the site reserves, but its
// growth after the reserves still earns presize ("the reserve is too small"). Built with
// -DFIXED, the reserve is reserve(500): one explicit grow and no other, no verdict.
// Prints "fill_reserved instances N grows G explicit E max M grow_bytes B", counted by the
// program itself (bucket_count() watched around every call).
#include <cstdio>
#include <unordered_map>
#include <vector>
#include "churn_common.h"

#define MAPS  64
#define ELEMS 500
#ifdef FIXED
#define RESERVE ELEMS
#else
#define RESERVE 16
#endif

static unsigned grows, explicit_grows;
static size_t grow_bytes;

static void watch(const std::unordered_map<int, int> &m, size_t before, unsigned *counter)
{
	if (m.bucket_count() != before) {
		(*counter)++;
		grow_bytes += m.bucket_count() * sizeof(void *);
	}
}

extern "C" __attribute__((noinline)) void fill_reserved(std::unordered_map<int, int> &m)
{
	size_t b0 = m.bucket_count();
	m.reserve(RESERVE); /* SITE */
	watch(m, b0, &explicit_grows);
	for (int k = 0; k < ELEMS; k++) {
		size_t b = m.bucket_count();
		m.emplace(k * 7, k);
		watch(m, b, &grows);
	}
}

int main()
{
	other_work(8 << 20, 100);
	std::vector<std::unordered_map<int, int>> maps(MAPS); // all alive at once: no reuse
	long sum = 0;
	for (auto &m : maps) {
		fill_reserved(m);
		sum += m.at(7 * (ELEMS - 1));
	}
	maps.clear();
	std::printf("fill_reserved instances %d grows %u explicit %u max %d grow_bytes %zu\n", MAPS,
		    grows, explicit_grows, ELEMS, grow_bytes);
	std::printf("checksum %ld\n", sum);
	return 0;
}
