// SPDX-License-Identifier: MIT
// unordered_maps whose buckets come from a std::pmr resource on a stack buffer (no malloc at
// all) beside plain ones (tests/integration/maps.sh): the pmr site's grow bytes are not part of
// the bytes allocated, so they make no share of them and no `dominant`. Prints, per site, the
// grows and bucket bytes it counts itself (bucket_count() watched around every insert).
#include <cstdio>
#include <memory_resource>
#include <unordered_map>

#define NOINLINE __attribute__((noinline))

static unsigned long grows[2], bytes[2];

template <class Map> static void fill(Map &m, int r, int site)
{
	size_t b = m.bucket_count();
	for (int i = 0; i < 300; i++) {
		m[i + r] = i;
		if (m.bucket_count() != b) {
			b = m.bucket_count();
			grows[site]++;
			bytes[site] += b * sizeof(void *);
		}
	}
}

NOINLINE static long pool_round(int r)
{
	alignas(16) char buf[64 * 1024];
	std::pmr::monotonic_buffer_resource res(buf, sizeof buf, std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> m(&res);
	fill(m, r, 0);
	return (long)m.size();
}

NOINLINE static long heap_round(int r)
{
	std::unordered_map<int, int> m;
	fill(m, r, 1);
	return (long)m.size();
}

int main()
{
	long s = 0;
	for (int r = 0; r < 50; r++)
		s += pool_round(r) + (r % 10 == 0 ? heap_round(r) : 0);
	std::printf("pool_round grows %lu bytes %lu\n", grows[0], bytes[0]);
	std::printf("heap_round grows %lu bytes %lu\n", grows[1], bytes[1]);
	std::printf("checksum %ld\n", s);
	return 0;
}
