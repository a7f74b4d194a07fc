// SPDX-License-Identifier: MIT
// C++ allocation through operator new/delete (plain, array, nothrow, aligned), a throwing
// new that must propagate, and an unordered_map's growth: counted the same whether the
// allocator underneath is glibc (whose operators call malloc) or jemalloc (whose don't).
#include <cstdio>
#include <new>
#include <unordered_map>

struct alignas(64) Wide {
	char b[64];
};

__attribute__((noinline)) int *cxx_one(int i)
{
	return new int(i);
}
__attribute__((noinline)) int *cxx_array(int n)
{
	return new int[n];
}
__attribute__((noinline)) Wide *cxx_aligned()
{
	return new Wide();
}
__attribute__((noinline)) int *cxx_nothrow(int n)
{
	return new (std::nothrow) int[n];
}

int main(int argc, char **argv)
{
	long sum = 0;
	for (int i = 0; i < 1000; i++) {
		int *p = cxx_one(i);
		sum += *p;
		delete p;
	}
	for (int i = 0; i < 200; i++)
		delete[] cxx_array(10 + i % 5);
	for (int i = 0; i < 100; i++)
		delete cxx_aligned();
	for (int i = 0; i < 50; i++)
		delete[] cxx_nothrow(7);
	int caught = 0;
	volatile size_t huge = (size_t)1 << 62;
	for (int i = 0; i < 3; i++) {
		try {
			char *x = new char[huge];
			x[0] = 1;
		} catch (const std::bad_alloc &) {
			caught++;
		}
	}
	std::unordered_map<int, int> m;
	for (int i = 0; i < 5000; i++)
		m[i] = i;
	printf("sum %ld caught %d buckets %zu\n", sum, caught, m.bucket_count());
	return 0;
}
