// SPDX-License-Identifier: MIT
// Rehashes to fewer buckets are not grows (tests/integration/maps.sh): a map filled to 1000 and
// erased to 10 is shrunk by rehash(0), then grows again; another is shrunk by reserve(10) below
// its size, then destroyed. Counts its own grows and shrinks by watching bucket_count();
// prints "maps 2 grows G shrinks S".
#include <cstdio>
#include <unordered_map>

static unsigned grows, shrinks;

template <class F> static void watch(std::unordered_map<int, int> &m, F f)
{
	size_t b = m.bucket_count();
	f();
	if (m.bucket_count() > b)
		grows++;
	else if (m.bucket_count() < b)
		shrinks++;
}

__attribute__((noinline)) static void shrink_site()
{
	std::unordered_map<int, int> a, c;
	for (int i = 0; i < 1000; i++)
		watch(a, [&] { a[i] = i; });
	for (int i = 10; i < 1000; i++)
		a.erase(i);
	watch(a, [&] { a.rehash(0); });
	for (int i = 1000; i < 1100; i++) // grows again from the shrunk array
		watch(a, [&] { a[i] = i; });
	for (int i = 0; i < 1000; i++)
		watch(c, [&] { c[i] = i; });
	watch(c, [&] { c.reserve(10); });
}

int main()
{
	shrink_site();
	std::printf("maps 2 grows %u shrinks %u\n", grows, shrinks);
	return 0;
}
