/* SPDX-License-Identifier: MIT */
/* Which instance holds an unordered_map's bucket array, readable without the maps lock.
 *
 * A thread counts the elements of the map it grew last (maps_stdcxx.c, the elements cache) and
 * remembers the last few it grew; inserts by any other thread into a map went uncounted. A map
 * filled on one thread and finished on another (handed over through a queue), or filled by
 * threads in turn under a mutex, then showed the size it had at its last grow: a map of 12
 * reported as "tiny", a shared map short of a whole thread's inserts. The maps lock on every
 * such insert would cost too much; so a small set-associative table, written under the lock
 * whenever an instance takes a bucket array, lets any insert find the instance by the map's
 * array and raise its largest size. Entries are not removed when an array is freed (one scan
 * fewer per grow): a stale entry fails the check every read makes, that the instance read
 * from it still holds the array, tracked or learned (instances are arena memory, never
 * unmapped, so a stale one is safe to read). The table is a cache with at least twice as many
 * entries as there are tracked arrays (8192 sets of 4 to start with, up to 2^20 sets; with 32k
 * entries for 200,000 maps filled in turn, most inserts asked the lock). An insert that finds
 * no entry (its set overflowed; or the array was never entered: a map whose arrays do not come
 * from malloc, whose thread moved on to another map before its next insert) asks the maps lock
 * (maps_stdcxx.c, other_map), and the answer goes in: the instance, or that there is none (a copy
 * that never grew), which its later inserts then find here until some map grows into an array we
 * cannot see (an instance may then hold that map and array: a pmr map at a reused address; an array
 * we see is entered here, which replaces the answer). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "maps_int.h"

#define WAYS	 4
#define BITS_MIN 13 /* 8192 sets of 4: 512 KiB, touched only where maps' arrays hash */
#define BITS_MAX 20 /* 64 MiB: a million maps filled at once */

/* who: the instance holding array (arena memory, 8-aligned), or, bit 0 set, "no instance" for
 * the map at the address in its low 48 bits (8-aligned too), as of the count of unseen arrays
 * (low 16 bits) in its top 16 bits. */
struct hint {
	const void *array;
	uintptr_t who;
};

/* One mapping: this header's cache line, then one cache line per set, then a victim byte per
 * set (the way to evict next). Pages cost memory only once touched. A table outgrown by the
 * tracked arrays is replaced by one twice as large (under the maps lock) and its pages are
 * dropped (MADV_DONTNEED), never unmapped: a reader still in it reads zeros (bits 0, or no
 * entry), which is a miss, or the entries as they were, which are checked as any are. (Under
 * mlockall the drop fails: the outgrown tables stay, at most as large as the current one.) Written
 * under the maps lock (who, then array with release), read by any thread (array with acquire, then
 * who). */
struct table {
	uint32_t bits; /* sets = 2^bits; 0 in a dropped table */
	char pad[64 - sizeof(uint32_t)];
	struct hint sets[][WAYS];
};

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

static void put_in(struct table *t, uintptr_t who, const void *p)
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
	__atomic_store_n(&s[w].who, who, __ATOMIC_RELAXED);
	__atomic_store_n(&s[w].array, p, __ATOMIC_RELEASE);
}

/* Maps lock held: a table with room for twice the tracked arrays, the current one's entries
 * moved into it. */
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
	for (size_t k = 0; k < ((size_t)1 << t->bits); k++)
		for (int i = 0; i < WAYS; i++)
			if (t->sets[k][i].array)
				put_in(n, t->sets[k][i].who, t->sets[k][i].array);
	__atomic_store_n(&cur, n, __ATOMIC_RELEASE);
	madvise(t, table_size(t->bits), MADV_DONTNEED);
	return n;
}

void mp_maps_hint_put_locked(mp_map_inst_t *m, const void *p, size_t arrays)
{
	struct table *t = table(arrays);
	if (t)
		put_in(t, (uintptr_t)m, p);
}

void mp_maps_hint_none_locked(const void *self, const void *p)
{
	struct table *t = table(0);
	if (t)
		put_in(t, none_of(self), p);
}

void mp_maps_hint_unseen(void)
{
	__atomic_add_fetch(&epoch, 1, __ATOMIC_RELAXED);
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
		if (who & 1)
			return who == none_of(self); /* no instance's, no unseen array since */
		mp_map_inst_t *m = (mp_map_inst_t *)who;
		if (m && (__atomic_load_n(&m->array, __ATOMIC_RELAXED) == array ||
			  __atomic_load_n(&m->learned, __ATOMIC_RELAXED) == array)) {
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
