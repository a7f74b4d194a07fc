/* SPDX-License-Identifier: MIT */
/* Which instance holds an unordered_map's bucket array, readable without the maps lock.
 *
 * A thread counts the elements of the map it grew last (maps_stdcxx.c, the elements cache) and
 * remembers the last few it grew; inserts by any other thread into a map went uncounted. A map
 * filled on one thread and finished on another (handed over through a queue), or filled by
 * threads in turn under a mutex, then showed the size it had at its last grow: a map of 12
 * reported as "tiny", a shared map short of a whole thread's inserts. The maps lock on every
 * such insert would cost too much; so a small set-associative table lets any insert find the
 * instance by the map's array and raise its largest size. An instance goes in the first time an
 * insert asks the lock for it (below), and from then on whenever it takes a bucket array (under
 * the lock): a map filled only by the thread that grows it, nearly every map, costs no entry. The
 * table is a cache with at least twice as many entries as there are tracked arrays (8192 sets of 4
 * to start with, up to 2^20 sets; with a fixed 32k entries, 200,000 maps filled in turn asked the
 * lock on most inserts). Entries other than a tracked array's are not removed when the array goes:
 * a stale one fails the check every read makes, that the instance read from it still holds the
 * array (instances are arena memory, never unmapped, so a stale one is safe to read); a tracked
 * array's goes with it (below). An insert that finds no entry (its set overflowed; or the array was
 * never entered: a map whose arrays do not come from malloc, whose thread moved on to another map
 * before its next insert) asks the maps lock (maps_stdcxx.c, other_map), and the answer goes in:
 * the instance, or that there is none (a copy that never grew), which its later inserts then find
 * here until some map grows into an array we cannot see (an instance may then hold that map and
 * array: a pmr map at a reused address; an array we see is entered here, which replaces the
 * answer). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "maps_int.h"

#define WAYS	 4
#define BITS_MIN 13 /* 8192 sets of 4: 1 MiB, touched only where maps' arrays hash */
#define BITS_MAX 20 /* 128 MiB: two million maps filled at once */

/* An entry. who: the instance holding array (arena memory, 8-aligned), WHO_LEARNED set if it
 * holds it as learned (a pmr map's: checked against the instance on every read), or, bit 0
 * set, "no instance" for the map at the address in its low 48 bits (8-aligned too), as of the
 * count of unseen arrays (low 16 bits) in its top 16 bits.
 *
 * A tracked entry (the instance's tracked array) keeps the largest size inserts reached in
 * `count` itself, raised there by a compare-and-swap without the lock: one cache line per
 * insert, not also the instance's (a memory miss each when many maps are filled in turn). The
 * entry is retired when the array leaves the instance (mp_maps_hint_drop_locked), replaced,
 * evicted or moved to a larger table: its count is swapped for DEAD and folded into the
 * instance's max_size, under the maps lock; a dump folds a live instance's count first
 * (mp_maps_hint_fold_locked). So a tracked entry is valid while count is not DEAD, with no look
 * at the instance. Its top 24 bits are a tag, never 0, that changes at every reuse of the slot:
 * a swap that read the count of the slot's previous entry, or of a table since dropped (whose
 * pages read 0), fails. An insert that finds the entry retired (DEAD: the lock's holder is at
 * it) raises the instance itself, as long as the instance still holds the array. */
#define WHO_NONE    ((uintptr_t)1)
#define WHO_LEARNED ((uintptr_t)2)
#define DEAD	    UINT64_MAX
#define TAG_SHIFT   40
#define SIZE_MASK   (((uint64_t)1 << TAG_SHIFT) - 1)
#define TAG_MAX	    ((1u << (64 - TAG_SHIFT)) - 1)
struct hint {
	const void *array;
	uintptr_t who;
	uint64_t count; /* tracked: tag << TAG_SHIFT | largest size; else DEAD */
	uint64_t tag;	/* the slot's last tag (maps lock held) */
};

/* One mapping: this header (two cache lines), then two cache lines per set, then a victim byte
 * per set (the way to evict next). Pages cost memory only once touched. A table outgrown by the
 * tracked arrays is replaced by one twice as large (under the maps lock) and its pages are
 * dropped (MADV_DONTNEED), never unmapped: a reader still in it reads zeros (bits 0, or no
 * entry), which is a miss, or the entries as they were, which are checked as any are (tracked
 * ones were retired: their swaps fail). (Under mlockall the drop fails: the outgrown tables
 * stay, at most as large as the current one.) Written under the maps lock, read by any thread
 * (array with acquire, then who and count). */
struct table {
	uint32_t bits; /* sets = 2^bits; 0 in a dropped table */
	char pad[128 - sizeof(uint32_t)];
	struct hint sets[][WAYS];
};

static inline bool tracked(uintptr_t who)
{
	return who && !(who & (WHO_NONE | WHO_LEARNED));
}

/* Whether p may be a tracked bucket array now: the filter's map counter (filter.c). */
static inline bool map_tracked_maybe(const void *p)
{
	uint8_t b = __atomic_load_n(&mp_filter_bits[mp_filter_slot(p)], __ATOMIC_RELAXED);
	return (b >> MP_FILTER_MAP_SHIFT) & 15;
}

/* Grows whose bucket array we could not see, so far (atomic). */
static uint32_t epoch;

static inline uintptr_t none_of(const void *self)
{
	uint64_t e = __atomic_load_n(&epoch, __ATOMIC_RELAXED) & 0xffff;
	return (uintptr_t)(e << 48) | ((uintptr_t)self & (((uintptr_t)1 << 48) - 1)) | 1;
}

static struct table *cur; /* written under the maps lock (release), read by any thread */
static bool failed;	  /* maps lock held: no mmap to retry (every put would cost one) */

static inline size_t table_size(unsigned bits)
{
	size_t sets = (size_t)1 << bits;
	return sizeof(struct table) + sets * sizeof(struct hint[WAYS]) + sets;
}

static inline uint8_t *victims(struct table *t)
{
	return (uint8_t *)t->sets[(size_t)1 << t->bits];
}

static inline size_t set_of(const void *p, unsigned bits)
{
	return (size_t)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* Maps lock held. NULL (remembered) when there is no memory. */
static struct table *make(unsigned bits)
{
	int e = errno; /* an insert's or a grow's: the program's */
	void *m = mmap(NULL, table_size(bits), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	errno = e;
	if (m == MAP_FAILED) {
		failed = true;
		return NULL;
	}
	struct table *t = m;
	t->bits = bits;
	return t;
}

/* Maps lock held: the count of a live tracked entry goes to its instance, and the entry is no
 * longer live (a reader's swap fails from now on). Returns the count. */
static uint64_t retire(struct hint *h)
{
	uintptr_t who = h->who;
	if (!tracked(who))
		return 0;
	uint64_t c = __atomic_exchange_n(&h->count, DEAD, __ATOMIC_ACQ_REL);
	if (c == DEAD)
		return 0;
	c &= SIZE_MASK;
	mp_maps_raise_max((mp_map_inst_t *)who, c);
	return c;
}

/* Maps lock held. The array goes NULL first, so that a reader that took the slot's previous
 * array and then reads the new count finds the array changed. */
static void put_in(struct table *t, uintptr_t who, const void *p, uint64_t count)
{
	size_t k = set_of(p, t->bits);
	struct hint *s = t->sets[k];
	int w = -1;
	for (int i = 0; i < WAYS; i++) {
		const void *a = s[i].array;
		if (a == p) {
			w = i;
			break;
		}
		if (w < 0 && !a)
			w = i;
	}
	if (w < 0) {
		uint8_t *v = victims(t);
		w = v[k];
		v[k] = (uint8_t)((w + 1) % WAYS);
	}
	struct hint *h = &s[w];
	retire(h);
	__atomic_store_n(&h->array, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&h->who, who, __ATOMIC_RELAXED);
	uint64_t c = DEAD;
	if (tracked(who)) {
		h->tag = h->tag % TAG_MAX + 1;
		c = h->tag << TAG_SHIFT | (count > SIZE_MASK ? SIZE_MASK : count);
	}
	__atomic_store_n(&h->count, c, __ATOMIC_RELEASE);
	__atomic_store_n(&h->array, p, __ATOMIC_RELEASE);
}

/* Maps lock held: a table with room for twice the tracked arrays, the current one's entries
 * moved into it (tracked ones retired there: a reader still in the old table asks the lock). */
static struct table *table(size_t arrays)
{
	struct table *t = cur;
	if (!t) {
		if (failed || !(t = make(BITS_MIN)))
			return NULL;
		__atomic_store_n(&cur, t, __ATOMIC_RELEASE);
	}
	if (arrays <= ((size_t)2 << t->bits) || t->bits >= BITS_MAX || failed)
		return t;
	struct table *n = make(t->bits + 1);
	if (!n)
		return t;
	for (size_t k = 0; k < ((size_t)1 << t->bits); k++) {
		for (int i = 0; i < WAYS; i++) {
			struct hint *h = &t->sets[k][i];
			if (!h->array)
				continue;
			uint64_t c = tracked(h->who) ? retire(h) : 0;
			put_in(n, h->who, h->array, c);
		}
	}
	__atomic_store_n(&cur, n, __ATOMIC_RELEASE);
	madvise(t, table_size(t->bits), MADV_DONTNEED);
	return n;
}

void mp_maps_hint_put_locked(mp_map_inst_t *m, const void *p)
{
	m->hinted = true; /* its next arrays go in at its grows, and leave with it (maps.c) */
	struct table *t = table(mp_maps_array_count_locked());
	if (t)
		put_in(t, (uintptr_t)m | (m->array == p ? 0 : WHO_LEARNED), p, 0);
}

void mp_maps_hint_none_locked(const void *self, const void *p)
{
	struct table *t = table(0);
	if (t)
		put_in(t, none_of(self), p, 0);
}

/* Maps lock held: m's entry for p, or NULL (a set holds one entry per array: put_in reuses it). */
static struct hint *entry_of(const mp_map_inst_t *m, const void *p)
{
	struct table *t = cur;
	if (!t || !p)
		return NULL;
	struct hint *s = t->sets[set_of(p, t->bits)];
	for (int i = 0; i < WAYS; i++)
		if (s[i].array == p && s[i].who == (uintptr_t)m)
			return &s[i];
	return NULL;
}

void mp_maps_hint_drop_locked(mp_map_inst_t *m, const void *p)
{
	struct hint *h = entry_of(m, p);
	if (h) {
		retire(h);
		__atomic_store_n(&h->array, NULL, __ATOMIC_RELEASE);
	}
}

void mp_maps_hint_fold_locked(mp_map_inst_t *m)
{
	struct hint *h = entry_of(m, m->array);
	uint64_t c = h ? __atomic_load_n(&h->count, __ATOMIC_ACQUIRE) : DEAD;
	if (c != DEAD)
		mp_maps_raise_max(m, c & SIZE_MASK);
}

void mp_maps_hint_unseen(void)
{
	__atomic_add_fetch(&epoch, 1, __ATOMIC_RELAXED);
}

/* A tracked entry, who's: its count is raised while the slot still holds the array and the
 * entry is live (a swap that read a count, then found the array changed, or lost to a retire
 * or a reuse, which change the count, fails). Retired (or read from a dropped table): the
 * instance, if it still holds the array. */
static bool raise_count(struct hint *h, uintptr_t who, const void *array, uint64_t elems)
{
	if (elems > SIZE_MASK)
		elems = SIZE_MASK;
	for (;;) {
		uint64_t c = __atomic_load_n(&h->count, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->array, __ATOMIC_ACQUIRE) != array)
			return false;
		if (c == DEAD || (c >> TAG_SHIFT) == 0)
			break;
		if ((c & SIZE_MASK) >= elems)
			return true;
		if (__atomic_compare_exchange_n(&h->count, &c, (c & ~SIZE_MASK) | elems, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return true;
	}
	mp_map_inst_t *m = (mp_map_inst_t *)who;
	if (__atomic_load_n(&m->array, __ATOMIC_RELAXED) != array)
		return false;
	mp_maps_raise_max(m, elems);
	return true;
}

bool mp_maps_hint_note(const void *self, const void *array, uint64_t elems)
{
	struct table *t = __atomic_load_n(&cur, __ATOMIC_ACQUIRE);
	if (!t)
		return false;
	unsigned bits = __atomic_load_n(&t->bits, __ATOMIC_RELAXED);
	if (bits < BITS_MIN || bits > BITS_MAX)
		return false; /* a table dropped for a larger one */
	struct hint *s = t->sets[set_of(array, bits)];
	for (int i = 0; i < WAYS; i++) {
		if (__atomic_load_n(&s[i].array, __ATOMIC_ACQUIRE) != array)
			continue;
		uintptr_t who = __atomic_load_n(&s[i].who, __ATOMIC_RELAXED);
		/* No instance's, no unseen array since; and not since tracked: an array is entered
		 * here only for a map inserts looked up (maps.c), so a map made at self that grew
		 * into the array since (the one freed, the address reused) finds this answer. The
		 * filter counts tracked arrays; a false hit asks the lock. */
		if (who & WHO_NONE)
			return who == none_of(self) && !map_tracked_maybe(array);
		if (tracked(who))
			return raise_count(&s[i], who, array, elems);
		mp_map_inst_t *m = (mp_map_inst_t *)(who & ~WHO_LEARNED);
		if (m && __atomic_load_n(&m->learned, __ATOMIC_RELAXED) == array) {
			mp_maps_raise_max(m, elems);
			return true;
		}
		return false; /* stale: the array is another map's now, or no map's we know */
	}
	return false;
}

/* Fork child, single-threaded: the parent's instances are gone. */
void mp_maps_hint_reset(void)
{
	struct table *t = cur;
	if (t) {
		unsigned bits = t->bits;
		madvise(t, table_size(bits), MADV_DONTNEED);
		t->bits = bits;
	}
}
