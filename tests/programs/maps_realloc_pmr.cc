// SPDX-License-Identifier: MIT
// A std::pmr map grows (its bucket array from its resource, not malloc), then the program
// reallocs a buffer to exactly the size of that array (tests/integration/maps.sh): the
// realloc'd block is the program's data, never a map's new array; it was taken for one and
// had bytes zeroed. Usage: maps_realloc_pmr [reserve] (grow by reserve(), else by an insert).
// Prints how many of 20 rounds found their data changed; exits 1 if any.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <unordered_map>

int main(int argc, char **argv)
{
	bool use_reserve = argc > 1;
	static char buf[1 << 16];
	int bad = 0;
	for (int r = 0; r < 20; r++) {
		std::pmr::monotonic_buffer_resource res(buf, sizeof buf,
							std::pmr::null_memory_resource());
		std::pmr::unordered_map<long, long> m(&res);
		char *p = (char *)std::malloc(40);
		std::memset(p, 'A', 40);
		size_t want = 13 * 8;
		if (use_reserve) {
			m.reserve(100);
			want = m.bucket_count() * 8;
		} else {
			m[1] = 1; /* a grow from 1 to 13 buckets, the array from the buffer */
		}
		char *q = (char *)std::realloc(p, want); /* a buffer grown by realloc */
		for (int i = 0; i < 40; i++)
			if (q[i] != 'A') {
				bad++;
				break;
			}
		std::free(q);
	}
	std::printf("changed %d of 20\n", bad);
	return bad != 0;
}
