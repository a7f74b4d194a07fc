// SPDX-License-Identifier: MIT
// Grows whose bucket array cannot be allocated are no grows (tests/integration/maps.sh): maps
// whose allocator throws std::bad_alloc for some bucket arrays (the third, fifth and sixth of
// each map) in the middle of an insert. libstdc++ puts the map back as it was, and the next
// insert asks for the same grow again. Counts its own grows by watching bucket_count(); prints
// "maps M grows G failed F". Before the fix, each failed attempt counted as a grow and split
// its map into two instances.
#include <cstdio>
#include <new>
#include <type_traits>
#include <unordered_map>

static int arrays; /* bucket arrays asked for by the current map */

template <class T> struct Flaky {
	typedef T value_type;
	Flaky() = default;
	template <class U> Flaky(const Flaky<U> &)
	{
	}
	T *allocate(size_t n)
	{
		// The bucket array is the one allocation of pointers (the nodes are not).
		if (std::is_pointer<T>::value) {
			int k = ++arrays;
			if (k == 3 || k == 5 || k == 6)
				throw std::bad_alloc();
		}
		return static_cast<T *>(::operator new(n * sizeof(T)));
	}
	void deallocate(T *p, size_t)
	{
		::operator delete(p);
	}
	bool operator==(const Flaky &) const
	{
		return true;
	}
	bool operator!=(const Flaky &) const
	{
		return false;
	}
};

typedef std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
			   Flaky<std::pair<const int, int>>>
    flaky_map;

static unsigned grows, failed;

__attribute__((noinline)) static void fill(int items)
{
	flaky_map m;
	arrays = 0;
	for (int i = 0; i < items;) {
		size_t b = m.bucket_count();
		try {
			m[i] = i;
			i++;
		} catch (const std::bad_alloc &) {
			failed++;
		}
		if (m.bucket_count() > b)
			grows++;
	}
}

int main()
{
	const int maps = 10;
	for (int n = 0; n < maps; n++)
		fill(2000);
	std::printf("maps %d grows %u failed %u\n", maps, grows, failed);
	return 0;
}
