// SPDX-License-Identifier: MIT
// reserve() as the last call of a function with a large frame, built without exceptions
// (Makefile: -O2 -fno-exceptions -fomit-frame-pointer; tests/integration/maps.sh). With
// libstdc++'s rehash() inlined there (its one caller), the function ends in a tail call to
// _M_rehash_aux: the frame that asked _M_next_bkt for the buckets is gone when the new bucket
// array is allocated, from a smaller frame above where the decision was taken. That array
// must still be taken for the map's. Prints "site NAME line L instances 1 grows G max M"
// (L: the line of its first grow, its site).
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#define NOINLINE __attribute__((noinline))

NOINLINE static long g(long x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 3 + 1;
}

NOINLINE static void sink(long a, long b, long c, long d, long e, long f, long h, long i, long j,
			  long k)
{
	__asm__ volatile(""
			 :
			 : "r"(a), "r"(b), "r"(c), "r"(d), "r"(e), "r"(f), "r"(h), "r"(i), "r"(j),
			   "r"(k));
}

/* Ten values live across calls: a frame larger than _M_rehash_aux's. */
#define BIG_FRAME                                                                                  \
	long a = g(1), b = g(a), c = g(b), d = g(c), e = g(d), f = g(e), h = g(f), i = g(h),       \
	     j = g(i), k = g(j);                                                                   \
	long a2 = g(a + b), b2 = g(c + d), c2 = g(e + f);                                          \
	sink(a, b, c, d, e, f, h, i, j, k);                                                        \
	sink(a2, b2, c2, a, b, c, d, e, f, h)

NOINLINE static void reserve_last(std::unordered_map<int, int> &m, size_t n)
{
	BIG_FRAME;
	m.reserve(n);
}

static void fill(const char *name, std::unordered_map<int, int> &m, int line,
		 void (*sized)(std::unordered_map<int, int> &, size_t))
{
	unsigned long grows = m.bucket_count() > 1; /* the first grow, to 13 buckets */
	size_t before = m.bucket_count();
	sized(m, 1000); /* replaces that array */
	grows += m.bucket_count() > before;
	for (int i = 0; i < 900; i++) {
		size_t b = m.bucket_count();
		m[i] = i;
		grows += m.bucket_count() > b;
	}
	std::printf("site %s line %d instances 1 grows %lu max %zu\n", name, line, grows, m.size());
}

NOINLINE static void run_reserve(void)
{
	std::unordered_map<int, int> m;
	m[1] = 1;
	fill("reserve_last", m, __LINE__ - 1, reserve_last);
}

int main()
{
	run_reserve();
	return 0;
}
