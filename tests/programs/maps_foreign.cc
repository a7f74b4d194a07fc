// SPDX-License-Identifier: MIT
// unordered_maps whose bucket arrays do not come from the heap calls that follow their grows
// (tests/integration/maps.sh). Each site prints what it counts itself, watching bucket_count()
// around every insert: "site NAME line L instances 1 grows G max M"
// (L: the line of its first grow, its site).
//  - late_pmr: a std::pmr map on a static buffer grows, a plain map grows once, then the pmr
//    map takes more elements without growing (they went uncounted: its size at its last grow).
//  - late_arena: the same with a bump allocator on a static arena.
//  - kept_a / kept_b: a caching allocator keeps freed bucket arrays and hands them out again;
//    b grows into a's old array (no heap call), then grows on (b was split in two instances, the
//    second one at the insert line of that later grow).
//  - turns_a / turns_b: the same two filled in turns, so that b gets a's old arrays each time.
//  - handed_d / handed_e: d dies unseen (its arrays stay with the allocator); e gets d's last
//    array, still listed as d's: d's max must stay its own.
//  - reserve_pmr_a / reserve_pmr_b: two pmr maps reserve(1000), then a takes 900 elements and
//    b 900: a's were lost (this thread's next grow, b's reserve, came before a's next insert).
//  - step_pmr_a / step_pmr_b: two pmr maps filled in lockstep grow at the same inserts; a's
//    elements after its last grow were lost the same way.
//  - passed_pmr: a pmr map grows on this thread and is filled on another one from there (its
//    inserts there went uncounted: no grow on that thread, the map never in its cache).
//  - moved_a / moved_p: a pmr map grown at moved_a is moved to another variable, and a copy of
//    map p (as many buckets, no grow of its own) is assigned to where it was and takes inserts
//    there: the moved map's instance must not take the copy for itself (the moved map's later
//    inserts then went uncounted).
//  - again_a / again_b: a request handler on a per-request pmr buffer (the same addresses
//    each time) first takes a path that copies a template into its map a and inserts (no
//    instance: the insert's lookup says so), then the path that reserves a and b and fills a:
//    that answer, kept for the copy, hid the instance of the later a (read as holding 0).
//  - coinc_pmr: a pmr map filled by a function of its own, its caller making a 104-byte heap
//    record after each insert: as large as a 13-bucket array, it was taken for the one the
//    map's first grow did not allocate on the heap, and its free for the map's death (the map
//    read as two instances).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <memory_resource>
#include <new>
#include <thread>
#include <unordered_map>

#define NOINLINE __attribute__((noinline))

struct count {
	unsigned long grows;
	size_t max;
	int line; /* of its first grow: its site's */
};

/* A macro, so that each site's inserts are on its own line. */
#define PUT(m, k, c)                                                                               \
	do {                                                                                       \
		size_t b_ = (m).bucket_count();                                                    \
		(m)[k] = k;                                                                        \
		if ((m).bucket_count() > b_ && !(c).grows++)                                       \
			(c).line = __LINE__;                                                       \
		if ((m).size() > (c).max)                                                          \
			(c).max = (m).size();                                                      \
	} while (0)

static void say(const char *name, const count &c)
{
	std::printf("site %s line %d instances 1 grows %lu max %zu\n", name, c.line, c.grows,
		    c.max);
}

alignas(64) static char pmr_buf[1 << 16];

NOINLINE static void late_pmr(void)
{
	std::pmr::monotonic_buffer_resource res(pmr_buf, sizeof pmr_buf,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> a(&res);
	std::unordered_map<int, int> b;
	count ca{}, cb{};
	for (int i = 0; i < 70; i++)
		PUT(a, i, ca);
	PUT(b, 0, cb);
	for (int i = 70; i < 100; i++)
		PUT(a, i, ca);
	say("late_pmr", ca);
	say("late_pmr_plain", cb);
}

alignas(64) static char arena[1 << 16];
static size_t arena_used;

template <class T> struct Bump {
	typedef T value_type;
	Bump() = default;
	template <class U> Bump(const Bump<U> &)
	{
	}
	template <class U> bool operator==(const Bump<U> &) const
	{
		return true;
	}
	template <class U> bool operator!=(const Bump<U> &) const
	{
		return false;
	}
	T *allocate(size_t n)
	{
		size_t s = (n * sizeof(T) + 15) & ~(size_t)15;
		if (arena_used + s > sizeof arena)
			std::abort();
		T *p = (T *)(arena + arena_used);
		arena_used += s;
		return p;
	}
	void deallocate(T *, size_t)
	{
	}
};

NOINLINE static void late_arena(void)
{
	std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
			   Bump<std::pair<const int, int>>>
	    a;
	std::unordered_map<int, int> b;
	count ca{}, cb{};
	for (int i = 0; i < 70; i++)
		PUT(a, i, ca);
	PUT(b, 0, cb);
	for (int i = 70; i < 300; i++) {
		PUT(a, i, ca);
		if (i % 50 == 0)
			PUT(b, i, cb); /* b grows now and then, a's cache moves to b each time */
	}
	say("late_arena", ca);
	say("late_arena_plain", cb);
}

struct slot {
	void *p;
	size_t size;
};
static slot shelves[3][64]; /* one per scenario below */

/* Frees nodes, keeps bucket arrays (larger than a node) on shelf S for the next one of their
 * size. */
template <class T, int S> struct Keep {
	typedef T value_type;
	template <class U> struct rebind {
		typedef Keep<U, S> other;
	};
	Keep() = default;
	template <class U> Keep(const Keep<U, S> &)
	{
	}
	template <class U> bool operator==(const Keep<U, S> &) const
	{
		return true;
	}
	template <class U> bool operator!=(const Keep<U, S> &) const
	{
		return false;
	}
	T *allocate(size_t n)
	{
		size_t s = n * sizeof(T);
		for (auto &k : shelves[S])
			if (k.p && k.size == s) {
				void *p = k.p;
				k.p = nullptr;
				return (T *)p;
			}
		return (T *)::operator new(s);
	}
	void deallocate(T *p, size_t n)
	{
		size_t s = n * sizeof(T);
		if (s <= 32) {
			::operator delete(p);
			return;
		}
		for (auto &k : shelves[S])
			if (!k.p) {
				k.p = p;
				k.size = s;
				return;
			}
		std::abort();
	}
};
template <int S>
using kept_on = std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
				   Keep<std::pair<const int, int>, S>>;
typedef kept_on<0> kept_map;

NOINLINE static void kept_a(kept_map &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void kept_b(kept_map &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void kept_b_on(kept_map &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void kept(void)
{
	kept_map a, b;
	count ca{}, cb{};
	kept_b(b, 0, 29, cb);	   /* b: 29 buckets */
	kept_a(a, 0, 60, ca);	   /* a: 13, 29, 59, 127: its 59-bucket array is kept */
	kept_b(b, 29, 30, cb);	   /* b grows to 59 buckets: a's old array, no heap call */
	kept_b_on(b, 30, 100, cb); /* b grows on, to 127 (this line's instance was b's second) */
	say("kept_b", cb);
	say("kept_a", ca);
}

NOINLINE static void turns(void)
{
	kept_on<1> a, b;
	count ca{}, cb{};
	for (int i = 0; i < 300; i++) {
		PUT(a, i, ca);
		if (i % 2)
			PUT(b, i, cb);
	}
	say("turns_a", ca);
	say("turns_b", cb);
}

/* d grows to 127 buckets on heap arrays and dies; e gets d's last array from the shelf (d's
 * death was not seen: e's first insert after that grow tells). */
NOINLINE static void handed_d(count &c)
{
	kept_on<2> d;
	for (int i = 0; i < 100; i++)
		PUT(d, i, c);
}

NOINLINE static void handed_e(count &c)
{
	kept_on<2> e;
	for (int i = 0; i < 120; i++)
		PUT(e, i, c);
}

NOINLINE static void handed(void)
{
	count cd{}, ce{};
	handed_d(cd);
	handed_e(ce);
	say("handed_d", cd);
	say("handed_e", ce);
}

alignas(64) static char pmr_buf2[1 << 16];

NOINLINE static void reserve_pmr(void)
{
	std::pmr::monotonic_buffer_resource res(pmr_buf2, sizeof pmr_buf2,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> a(&res), b(&res);
	count ca{}, cb{};
	size_t ba = a.bucket_count(), bb = b.bucket_count();
	a.reserve(1000);
	if (a.bucket_count() > ba)
		ca = count{1, 0, __LINE__ - 2};
	b.reserve(1000);
	if (b.bucket_count() > bb)
		cb = count{1, 0, __LINE__ - 2};
	for (int i = 0; i < 900; i++)
		PUT(a, i, ca);
	for (int i = 0; i < 900; i++)
		PUT(b, i, cb);
	say("reserve_pmr_a", ca);
	say("reserve_pmr_b", cb);
}

NOINLINE static void step_pmr(void)
{
	std::pmr::monotonic_buffer_resource res(pmr_buf, sizeof pmr_buf,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> a(&res), b(&res);
	count ca{}, cb{};
	for (int i = 0; i < 200; i++) {
		PUT(a, i, ca);
		PUT(b, i, cb);
	}
	say("step_pmr_a", ca);
	say("step_pmr_b", cb);
}

NOINLINE static void passed_fill(std::pmr::unordered_map<int, int> &m, int from, count &c)
{
	for (int i = from; i < 55; i++) /* 59 buckets hold them: no grow here */
		PUT(m, i, c);
}

NOINLINE static void passed_pmr(void)
{
	std::pmr::monotonic_buffer_resource res(pmr_buf, sizeof pmr_buf,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> m(&res);
	count c{};
	int i = 0;
	while (c.grows < 3) { /* up to the insert that grows it a third time */
		PUT(m, i, c);
		i++;
	}
	std::thread([&] { passed_fill(m, i, c); }).join();
	say("passed_pmr", c);
}

NOINLINE static void moved_a(std::pmr::unordered_map<int, int> &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void moved_p(std::pmr::unordered_map<int, int> &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void moved(void)
{
	std::pmr::monotonic_buffer_resource res(pmr_buf2, sizeof pmr_buf2,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> a(&res);
	count ca{}, cp{}, ccopy{};
	moved_a(a, 0, 100, ca); /* 127 buckets */
	std::pmr::unordered_map<int, int> b(std::move(a));
	std::pmr::unordered_map<int, int> p(&res);
	moved_p(p, -100, 0, cp); /* 127 buckets too */
	a = p;			 /* a copy, no grow: not an instance */
	moved_a(a, 1000, 1005, ccopy);
	moved_a(b, 100, 127, ca); /* the moved map goes on, to 127 elements */
	if (ccopy.grows || a.bucket_count() != b.bucket_count())
		std::abort(); /* the scenario needs the copy as large, never grown */
	say("moved_a", ca);
	say("moved_p", cp);
}

alignas(64) static char again_buf[1 << 14];

NOINLINE static void again_req(bool copy, const std::pmr::unordered_map<int, int> &tmpl, count &ca,
			       count &cb)
{
	std::pmr::monotonic_buffer_resource res(again_buf, sizeof again_buf,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> a(&res), b(&res);
	if (copy) {
		a = tmpl; /* as many buckets as a's reserve below gives, no grow */
		a[1000] = 1;
		return;
	}
	size_t ba = a.bucket_count(), bb = b.bucket_count();
	a.reserve(12);
	if (a.bucket_count() > ba)
		ca = count{1, 0, __LINE__ - 2};
	b.reserve(12);
	if (b.bucket_count() > bb)
		cb = count{1, 0, __LINE__ - 2};
	for (int i = 0; i < 12; i++)
		PUT(a, i, ca);
}

NOINLINE static void again(void)
{
	std::pmr::unordered_map<int, int> tmpl;
	count ct{}, ca{}, cb{}, unused{};
	tmpl.reserve(12);
	ct = count{1, 0, __LINE__ - 1};
	for (int i = 0; i < 5; i++)
		PUT(tmpl, i, ct);
	again_req(true, tmpl, unused, unused);
	again_req(false, tmpl, ca, cb);
	say("again_tmpl", ct);
	say("again_a", ca);
	say("again_b", cb);
}

struct rec13 {
	long v[13]; /* 104 bytes: a 13-bucket array's size */
};

NOINLINE static void coinc_put(std::pmr::unordered_map<int, int> &m, int k, count &c)
{
	PUT(m, k, c);
}

NOINLINE static void coinc_pmr(void)
{
	std::pmr::monotonic_buffer_resource res(pmr_buf, sizeof pmr_buf,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> m(&res);
	count c{};
	long sum = 0;
	for (int i = 0; i < 100; i++) {
		coinc_put(m, i, c);
		auto r = std::make_unique<rec13>();
		__asm__ volatile("" : : "r"(r.get()) : "memory");
		sum += r->v[0];
	}
	say("coinc_pmr", c);
	if (sum)
		std::abort();
}

int main()
{
	late_pmr();
	late_arena();
	kept();
	turns();
	handed();
	reserve_pmr();
	step_pmr();
	passed_pmr();
	moved();
	again();
	coinc_pmr();
	return 0;
}
