// SPDX-License-Identifier: MIT
// A bucket array that cannot be allocated while the new-handler throws bad_alloc
// (tests/integration/shim_regress.sh, over jemalloc under an address-space limit): jemalloc
// catches the handler's exception and throws one of its own, whose allocation was taken for
// the bucket array's end, and the failed grow was counted. Prints "grows G", the program's own
// count of bucket_count() changes.
#include <cstdio>
#include <new>
#include <unordered_map>

static void thrower()
{
	throw std::bad_alloc();
}

int main()
{
	std::unordered_map<int, int> m;
	int grows = 0;
	size_t bc = m.bucket_count();
	for (int i = 0; i < 50; i++) {
		m[i] = i;
		if (m.bucket_count() != bc) {
			grows++;
			bc = m.bucket_count();
		}
	}
	std::set_new_handler(thrower);
	for (int k = 0; k < 3; k++) {
		try {
			m.reserve((size_t)1 << 40);
		} catch (std::bad_alloc &) {
		}
	}
	std::set_new_handler(nullptr);
	if (m.bucket_count() != bc)
		grows++;
	std::printf("grows %d\n", grows);
	return 0;
}
