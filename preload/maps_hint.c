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
 * unmapped, so a stale one is safe to read). The table is a cache: an insert that finds no
 * entry (its set overflowed: many maps filled at once; or the array was never entered: a map
 * whose arrays do not come from malloc, whose thread moved on to another map before its next
 * insert) asks the maps lock (maps_stdcxx.c, other_map), and the answer goes in: the instance,
 * or that there is none (a copy that never grew), which its later inserts then find here until
 * some map grows into an array we cannot see (an instance may then hold that map and array: a
 * pmr map at a reused address; an array we see is entered here, which replaces the answer). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "maps_int.h"

#define SET_BITS 13 /* 8192 sets of 4: 512 KiB, touched only where maps' arrays hash */
#define WAYS	 4

/* who: the instance holding array (arena memory, 8-aligned), or, bit 0 set, "no instance" for
 * the map at the address in its low 48 bits (8-aligned too), as of the count of unseen arrays
 * (low 16 bits) in its top 16 bits. */
struct hint {
	const void *array;
	uintptr_t who;
};

/* Grows whose bucket array we could not see, so far (atomic). */
static uint32_t epoch;

static inline uintptr_t none_of(const void *self)
{
	uint64_t e = __atomic_load_n(&epoch, __ATOMIC_RELAXED) & 0xffff;
	return (uintptr_t)(e << 48) | ((uintptr_t)self & (((uintptr_t)1 << 48) - 1)) | 1;
}

/* One cache line per set, in a mapping of its own (made by the first put, under the maps
 * lock; pages cost memory only once touched, and the fork child drops them all at once).
 * Written under the maps lock (who, then array with release), read by any thread (array with
 * acquire, then who). */
#define SETS (1u << SET_BITS)
static struct hint (*hints)[WAYS];
static uint8_t *victim; /* maps lock held: the way of each set to evict next */

static inline unsigned set_of(const void *p)
{
	return (unsigned)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS));
}

static bool table(void)
{
	static bool failed; /* for good: a retry under the lock at every put would cost more */
	if (hints)
		return true;
	if (failed)
		return false;
	int e = errno; /* an insert's: the program's */
	void *m = mmap(NULL, SETS * sizeof(*hints) + SETS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	errno = e;
	if (m == MAP_FAILED) {
		failed = true; /* inserts that miss ask the lock each time */
		return false;
	}
	victim = (uint8_t *)m + SETS * sizeof(*hints);
	__atomic_store_n(&hints, (struct hint(*)[WAYS])m, __ATOMIC_RELEASE);
	return true;
}

static void put(uintptr_t who, const void *p)
{
	if (!table())
		return;
	unsigned k = set_of(p);
	struct hint *s = hints[k];
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
		w = victim[k];
		victim[k] = (uint8_t)((w + 1) % WAYS);
	}
	__atomic_store_n(&s[w].who, who, __ATOMIC_RELAXED);
	__atomic_store_n(&s[w].array, p, __ATOMIC_RELEASE);
}

void mp_maps_hint_put_locked(mp_map_inst_t *m, const void *p)
{
	put((uintptr_t)m, p);
}

void mp_maps_hint_none_locked(const void *self, const void *p)
{
	put(none_of(self), p);
}

void mp_maps_hint_unseen(void)
{
	__atomic_add_fetch(&epoch, 1, __ATOMIC_RELAXED);
}

bool mp_maps_hint_note(const void *self, const void *array, uint64_t elems)
{
	struct hint(*h)[WAYS] = __atomic_load_n(&hints, __ATOMIC_ACQUIRE);
	if (!h)
		return false;
	struct hint *s = h[set_of(array)];
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
	if (hints)
		madvise(hints, SETS * sizeof(*hints) + SETS, MADV_DONTNEED);
}
