// SPDX-License-Identifier: MIT
// Small std::pmr maps made one after another at one stack address (tests/integration/maps.sh):
// each grows once, 1 -> 13 buckets, from a monotonic_buffer_resource (no malloc: their deaths
// are not seen). A grow taken back as failed (the next map's first grow repeats the last
// decision's counts) merged all of them into one instance. Prints "maps M grows G".
#include <cstdio>
#include <memory_resource>
#include <unordered_map>

static unsigned grows;

__attribute__((noinline)) static void one(int items)
{
	char buf[4096];
	std::pmr::monotonic_buffer_resource res(buf, sizeof(buf));
	std::pmr::unordered_map<int, int> m(&res);
	for (int i = 0; i < items; i++) {
		size_t b = m.bucket_count();
		m[i] = i;
		if (m.bucket_count() > b)
			grows++;
	}
}

int main()
{
	const int maps = 20;
	for (int n = 0; n < maps; n++)
		one(5);
	std::printf("maps %d grows %u\n", maps, grows);
	return 0;
}
