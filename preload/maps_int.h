/* SPDX-License-Identifier: MIT */
/* Map tracking internals shared by its front ends (maps_uthash.c, maps_stdcxx.c, maps_api.c)
 * and its store (maps.c: instances, sites, grow aggregates; maps_dump.c: sections 7 and 8).
 * Everything named *_locked runs under the maps lock; the lock order is maps -> table -> arena.
 * The maps lock is never taken with the table lock held. */
#ifndef MP_PRELOAD_MAPS_INT_H
#define MP_PRELOAD_MAPS_INT_H
#include "maps.h"
#include "stack.h"
#include "table.h"

#define MP_MAP_TIDS 4 /* distinct grower thread ids kept per instance */
_Static_assert(MP_MAP_TIDS + 1 == MP_MAP_MAX_THREADS, "max_threads saturates as dumps say");
/* Chained hash table node; embedded first in every hashed object. */
typedef struct mp_hnode {
	struct mp_hnode *next;
	uint64_t hash;
} mp_hnode_t;

typedef struct mp_htab {
	mp_hnode_t **b;
	size_t nb, n;
} mp_htab_t;

/* Site aggregates: the fields written at once (grows, bytes) and those folded in when an
 * instance dies (histograms, max_grows, tiny, max_threads). */
typedef struct mp_site_agg {
	uint64_t instances, live, max_live, grows, max_grows, reserved, tiny, shared, max_threads,
	    noexpand, grow_bytes, grow_ns, max_grow_ns, max_size;
	uint64_t size_hist[MP_HIST_SIZE_BUCKETS];
	uint64_t life_hist[MP_HIST_LIFE_BUCKETS];
	/* grow_bytes of arrays seen allocated (through malloc or operator new): an unordered_map
	 * whose allocator does not call malloc (a std::pmr resource on a buffer) grows without */
	uint64_t heap_grow_bytes;
	/* Instances grown by one thread, then another, then again by one that grew it before:
	 * threads taking turns with the map or using it at once, not handing it on (1.3). */
	uint64_t turns;
	/* unordered_map: instances first seen at a grow from more than one bucket, with a bucket
	 * array that came from another map (a copy, a copy-assignment over the map) (1.7) */
	uint64_t copies;
	/* unordered_map: instances that grew by inserts at a lower max_load_factor than their last
	 * reserve()/rehash() ran at (max_load_factor() set after reserve()) (1.7) */
	uint64_t lf_lowered;
	/* Instances with a reserve()/rehash() (or the API's reserve) that came after their first
	 * grow, and the sum of their largest such bucket counts: a map sized far beyond what it
	 * holds once it was filled (1.8) */
	uint64_t late_reserved, late_buckets;
	/* unordered_map: instances moved out of the map object they grew in (std::move into a
	 * parameter or another map, a swap) and ended there, or replaced in it by an assignment,
	 * while the map left behind restarts from one bucket (1.9; maps_stdcxx.c, moved_out) */
	uint64_t moved_out;
} mp_site_agg_t;

/* Instances alive at once over every site (of one kind) with `pc` among the first
 * MP_SITE_PC_DEPTH frames of its stack: a line that makes maps for many callers (a parse()
 * called by twelve handlers) is many sites, and the sum of their max_live is not how many of
 * its maps lived at once. One per (kind, pc, stack key); never freed. */
typedef struct mp_map_pcg {
	mp_hnode_t h;
	uintptr_t pc;
	uint32_t key; /* the stack's unload epoch (table.h): the same pc in a reloaded library */
	uint16_t kind;
	uint64_t live, max_live;
} mp_map_pcg_t;

/* One per (site stack, kind); never freed (bounded by the stack table). */
typedef struct mp_map_site {
	mp_hnode_t h;
	uint32_t stack;
	uint16_t kind, flags;
	mp_map_pcg_t *pcg[MP_SITE_PC_DEPTH]; /* its first frames' groups, each once; NULL after */
	mp_site_agg_t agg;
	mp_site_agg_t *dump; /* scratch for the dump writer: agg plus the live instances */
} mp_map_site_t;

/* One per (stack, kind, flags, from, to); never freed. */
typedef struct mp_map_grow {
	mp_hnode_t h;
	uint32_t stack;
	uint16_t kind, flags;
	uint64_t from, to, count, rehashed, bytes, ns;
} mp_map_grow_t;

/* A live map. Keyed by (address, kind); recycled through maps.c's free list when it dies. */
typedef struct mp_map_inst {
	mp_hnode_t h;
	mp_hnode_t ah; /* in the bucket-array table (keyed by `array`) while array != NULL */
	uintptr_t key;
	uint64_t serial; /* unique per instance, 0 once dead: validates references kept outside
			  * the lock (instances are arena memory, never unmapped) */
	mp_map_site_t *site;
	uint64_t created; /* mp_maps_now */
	uint64_t grows;
	uint64_t size; /* elements: last known (uthash, API) or most seen (unordered_map) */
	uint64_t max_size;
	uint64_t buckets; /* bucket count after the last grow */
	void *array; /* unordered_map: the tracked bucket array (in the array table), or NULL */
	/* unordered_map: the thread whose elements cache (mp_maps_tls_t.policy) holds this
	 * instance, or NULL. Set and cleared under the lock; a thread clears it before its TLS
	 * goes (mp_maps_thread_exit), so dumps and deaths on other threads can read the count. */
	struct mp_maps_tls *cached_by;
	uint32_t tids[MP_MAP_TIDS];
	uint32_t last_tid; /* the thread of its last grow */
	uint8_t ntids;	   /* distinct grower threads; MP_MAP_TIDS + 1 means "more than kept" */
	bool turns;	   /* counted in its site's turns */
	bool explicit_grow, noexpand, adoptable;
	/* unordered_map: inserts from outside its growing thread's elements cache looked it up
	 * (maps_hint.c): its arrays go in the hints from then on, at each grow. A map filled only
	 * by the thread that grows it (nearly every map) never costs a hint entry. */
	bool hinted;
	bool shrunk; /* unordered_map: the program shrank it (rehash/reserve to fewer buckets) */
	bool copy;   /* unordered_map: counted in its site's copies */
	/* unordered_map: moved out of the map object it was, as told when a grow found that
	 * object holding another array (the detach) or found the map at its new address (the
	 * rekey): its end reads another map (maps_stdcxx.c, moved_out) */
	bool moved;
	bool lf_lowered; /* unordered_map: counted in its site's lf_lowered */
	/* unordered_map: its max_load_factor at its last reserve()/rehash() (0: none yet) */
	float reserve_lf;
	/* The largest bucket count of its explicit grows after its first grow (0: none), counted
	 * in its site's late_reserved and late_buckets; the one before its last grow raised it
	 * (late_last), for a failed grow to take back. */
	uint64_t late_to, late_prev;
	bool late_last;
	/* unordered_map: the bytes of its grow decided but whose new array is not entered yet (as
	 * malloc's, heap_grow_bytes, when it is), for a map whose last array was seen: a dump
	 * meanwhile counts them so, not as "not from malloc" (one that comes unseen after all is
	 * corrected at the next dump). */
	uint64_t heap_pending;
	/* unordered_map: a grow of its was not seen allocated (a caching allocator handed out an
	 * array it kept, or the map's own allocator made it): `array`, if set, may be no longer
	 * the map's. Cleared when a grow's array is seen. */
	bool unseen;
	/* unordered_map: the bucket array of such a grow, learned from the insert after it. Not
	 * tracked (its free says nothing), but inserts that do not come through the growing
	 * thread's elements cache find the instance by it (maps_hint.c). */
	const void *learned;
} mp_map_inst_t;

/* Per-thread state of the front ends, in initial-exec TLS like mp_tls. */
typedef struct mp_maps_tls {
	uint32_t tid;	 /* our own thread number for "threads that grew it", from 1 */
	uint8_t in_need; /* inside the real _M_need_rehash: its _M_next_bkt call is not explicit */
	/* unordered_map grow: 0 none, 1 await new array, 2 await old free, 3 the allocation
	 * that came was not the new array (it came unseen) */
	uint8_t stage;
	uint8_t adoptable; /* the pending grow's instance was first seen at it with from > 1 */
	uint32_t gen;	   /* mp_maps_gen when the pending grow was set */
	uintptr_t key;	   /* its instance */
	uint64_t serial;
	struct mp_map_inst *inst; /* the same, found without a lookup while its serial matches */
	void *old_array;	  /* the array it replaces (NULL: single bucket or untracked) */
	/* Its new array when that replaces a tracked old_array: counted in the filter at its
	 * allocation, entered in the array table only when the old one is freed (one maps lock
	 * fewer per grow). Any other map event of this thread enters it first. */
	void *new_array;
	uint64_t from, to, t0; /* t0: mp_maps_now at the decision */
	/* The stack pointer of the map's call that decided it (to _M_need_rehash, _M_next_bkt):
	 * the new array is allocated below it, within that call's rehash. An allocation called
	 * from above it (mp_tls_t.map_call_sp) comes after the rehash: not the array. */
	uintptr_t call_sp;
	/* Allocations of other sizes seen while awaiting the new array (stage 1): the map's
	 * allocator's own, up to MP_ARRAY_WAIT; one more says the array comes unseen. */
	uint8_t waited;
	uint64_t moved; /* its elements to rehash, as recorded */
	unsigned flags; /* its MP_GROW_* flags */
	uint64_t ops;	/* this thread's alloc+free calls when the new array came: the old array's
			 * free is the very next heap call of the rehash */
	mp_map_grow_t *grow; /* where its duration goes */
	bool shrink;	     /* the pending "grow" is a rehash to fewer buckets: not a grow */
	bool shrunk_before;  /* its instance's `shrunk` before this decision */
	/* To take it back if its array cannot be allocated (mp_maps_cxx_alloc_failed): whether its
	 * instance was made for it, and the sizes it raised, as they were and as it set them. */
	bool fresh;
	uint64_t size_before, max_before, site_max_before, size_set;
	/* Elements cache: the last unordered_map this thread grew, and the most elements seen in
	 * it by _M_need_rehash calls that did not grow it. */
	const void *policy;
	uint64_t policy_serial, policy_elems;
	struct mp_map_inst *policy_inst; /* its instance (arena memory: safe to test when stale) */
	/* Its bucket array (NULL: the next insert's; MP_MAPS_ARRAY_GONE: ask the array table) */
	const void *policy_buckets;
	/* uthash: the last bucket array handed out by mapprof_uthash_malloc, and when. */
	const void *ut_array;
	uint64_t ut_t0;
	/* A table was just made here: the next uthash_malloc is its first bucket array
	 * (HASH_MAKE_TABLE), whatever its size; 4 buckets are as large as a table. */
	bool ut_want_buckets;
	/* uthash: the table this thread is filling and its instance. mapprof_uthash_size raises
	 * the instance's max_size without the lock while the serial still matches (instances
	 * live in arena memory that is never unmapped, so a stale pointer is safe to test). */
	const void *ut_tbl;
	struct mp_map_inst *ut_inst;
	uint64_t ut_serial;
	uint32_t ut_serial_gen; /* mp_maps_gen when cached: a fork child starts afresh */
} mp_maps_tls_t;
#define MP_ARRAY_WAIT 8
/* policy_buckets of a map whose array was dropped: never an array's address. */
#define MP_MAPS_ARRAY_GONE ((const void *)1)
extern MP_HIDDEN __thread mp_maps_tls_t mp_maps_tls __attribute__((tls_model("initial-exec")));
/* Bumped by fork-child reset: pending TLS state of an older generation is ignored. */
extern MP_HIDDEN uint32_t mp_maps_gen;

static inline uintptr_t mp_maps_key(unsigned kind, const void *addr)
{
	return ((uintptr_t)addr << 2) | (kind & 3);
}

/* True when a front end may record: profiling on, map tracking on, not inside the profiler. */
static inline bool mp_maps_active(const mp_tls_t *t)
{
	return mp_state == MP_READY && mp_config.maps && t->guard == 0;
}

/* Map events' stacks are at least this deep, whatever MAPPROF_DEPTH: a site is the first frame
 * outside the map's code (libstdc++'s insert is 4 to 6 frames deep unoptimized, uthash's
 * hooks 1), and a stack cut before it would name the map's code, merging every site. */
#define MP_MAPS_MIN_DEPTH 16

/* Guard held, no lock held: the caller's stack, interned (stackcache.c: a loop's repeated
 * grows cost a check of its frames' return-address slots, not an unwind). */
static inline uint32_t mp_maps_stack(void)
{
	unsigned d = mp_config.depth;
	return mp_stack_id_depth(&mp_tls, d < MP_MAPS_MIN_DEPTH ? MP_MAPS_MIN_DEPTH : d);
}

/* Event times. TSC ticks where the kernel's own clocksource is the TSC (so it is invariant
 * and synchronized across CPUs): rdtsc costs half a vDSO clock_gettime on the benchmark VM
 * (about 22 vs 44 ns) and a grow reads two. Otherwise CLOCK_MONOTONIC ns. mp_maps_ns_locked
 * converts a difference to ns. Written once by mp_maps_init, read-only afterwards. */
extern MP_HIDDEN bool mp_maps_use_tsc;
static inline uint64_t mp_maps_now(void)
{
	return mp_maps_use_tsc ? __builtin_ia32_rdtsc() : mp_mono_ns();
}

/* maps.c. */
MP_HIDDEN uint32_t mp_maps_tid(void);
/* Maps lock held: a difference of two mp_maps_now values, in ns; now is a recent one. */
MP_HIDDEN uint64_t mp_maps_ns_locked(uint64_t ticks, uint64_t now);
/* The maps lock: 0 free, 1 held, 2 held with sleepers maybe (maps.c). Inline because every
 * grow takes it twice; a call to pthread_mutex_lock and _unlock cost ~120 instructions a grow. */
extern MP_HIDDEN int mp_maps_lock_word;
MP_HIDDEN void mp_maps_lock_slow(void);
MP_HIDDEN void mp_maps_wake(void);
static inline void mp_maps_lock(void)
{
	int z = 0;
	/* One thread: nobody else takes it (same-thread reentry is ruled out by the guard, as
	 * for the atomic path), so a plain store; the fences keep the compiler's order. */
	if (mp_likely(mp_single_threaded()) &&
	    __atomic_load_n(&mp_maps_lock_word, __ATOMIC_RELAXED) == 0) {
		__atomic_store_n(&mp_maps_lock_word, 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_ACQUIRE);
		return;
	}
	if (mp_unlikely(!__atomic_compare_exchange_n(&mp_maps_lock_word, &z, 1, false,
						     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
		mp_maps_lock_slow();
}
/* The lock if free now: for work that a later event redoes (an insert's count). */
static inline bool mp_maps_trylock(void)
{
	int z = 0;
	if (mp_likely(mp_single_threaded())) {
		if (__atomic_load_n(&mp_maps_lock_word, __ATOMIC_RELAXED) != 0)
			return false;
		__atomic_store_n(&mp_maps_lock_word, 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_ACQUIRE);
		return true;
	}
	return __atomic_compare_exchange_n(&mp_maps_lock_word, &z, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}
/* Still one thread now: none can wait on the word. A lock taken plainly and released after
 * the process made a thread (only a signal handler could, and pthread_create is not
 * async-signal-safe) takes the atomic path here, which wakes a waiter. */
static inline void mp_maps_unlock(void)
{
	if (mp_likely(mp_single_threaded())) {
		__atomic_signal_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&mp_maps_lock_word, 0, __ATOMIC_RELAXED);
		return;
	}
	if (mp_unlikely(__atomic_exchange_n(&mp_maps_lock_word, 0, __ATOMIC_RELEASE) == 2))
		mp_maps_wake();
}
MP_HIDDEN mp_map_inst_t *mp_maps_find_locked(uintptr_t key);
/* A new live instance at key (an older live one there dies first). NULL on no memory. */
MP_HIDDEN mp_map_inst_t *mp_maps_create_locked(uintptr_t key, uint32_t stack, uint64_t now);
/* Folds the instance into its site and frees it (its array entry, if any, is dropped). */
MP_HIDDEN void mp_maps_kill_locked(mp_map_inst_t *m, uint64_t now);
/* Takes back an instance that turned out to be no map (just made, never grown): its site no
 * longer counts it. */
MP_HIDDEN void mp_maps_discard_locked(mp_map_inst_t *m);
/* Takes back a grow recorded by mp_maps_grow_locked (aggregate g, may be NULL) that never
 * happened: its bucket array could not be allocated. m is back at `from` buckets. */
MP_HIDDEN void mp_maps_ungrow_locked(mp_map_inst_t *m, mp_map_grow_t *g, unsigned flags,
				     uint64_t from, uint64_t elements, uint64_t bytes);
/* Records one grow of m (flags MP_GROW_*); returns its aggregate (NULL when not recorded). */
MP_HIDDEN mp_map_grow_t *mp_maps_grow_locked(mp_map_inst_t *m, uint32_t stack, unsigned flags,
					     uint64_t from, uint64_t to, uint64_t elements,
					     uint64_t bytes, uint64_t ns);
/* Adds a measured duration to a grow recorded earlier by m's site. */
MP_HIDDEN void mp_maps_grow_ns_locked(mp_map_site_t *s, mp_map_grow_t *g, uint64_t ns);
MP_HIDDEN void mp_maps_set_size_locked(mp_map_inst_t *m, uint64_t elements);
MP_HIDDEN void mp_maps_noexpand_locked(mp_map_inst_t *m);
/* Bucket arrays (unordered_map): p becomes m's tracked array (replacing any it had), so its
 * free reaches mp_maps_on_free. The caller counted p in the filter (mp_filter_add_map). */
MP_HIDDEN void mp_maps_array_add_locked(mp_map_inst_t *m, void *p);
/* Forgets p (and its filter count); returns the instance whose array it was, or NULL. `hint`
 * (or NULL) is checked first: an instance's array is in the table under no other. */
MP_HIDDEN mp_map_inst_t *mp_maps_array_remove_locked(void *p, mp_map_inst_t *hint);
/* Bucket arrays tracked now (sizes the hints' table). */
MP_HIDDEN size_t mp_maps_array_count_locked(void);
/* The instance whose tracked bucket array p is, or NULL. */
MP_HIDDEN mp_map_inst_t *mp_maps_array_owner_locked(const void *p);
/* m's map left its address (moved or swapped away) but lives on: m is keyed by its bucket
 * array from now on (no map lives inside a bucket array), found again through that array when
 * the map grows at its new address (mp_maps_rekey_locked), and ended when the array is freed. */
MP_HIDDEN void mp_maps_detach_locked(mp_map_inst_t *m);
/* m is the map at key now; a live instance still under key is detached (or ended, if it has
 * no array to be found by). */
MP_HIDDEN void mp_maps_rekey_locked(mp_map_inst_t *m, uintptr_t key, uint64_t now);
/* A moved map: `old` (whose bucket array the grow of `fresh` just freed) was moved to fresh's
 * address. old takes over fresh's key, array and its one grow (of `bytes`); fresh is freed. */
MP_HIDDEN void mp_maps_adopt_locked(mp_map_inst_t *old, mp_map_inst_t *fresh, uint64_t bytes);
/* Iteration for the dump writer. */
MP_HIDDEN mp_htab_t *mp_maps_sites_locked(void);
MP_HIDDEN mp_htab_t *mp_maps_grows_locked(void);
MP_HIDDEN mp_htab_t *mp_maps_insts_locked(void);
MP_HIDDEN mp_htab_t *mp_maps_pcgs_locked(void);
MP_HIDDEN void mp_maps_fold(mp_site_agg_t *a, const mp_map_inst_t *m, uint64_t now);

/* An insert saw `elems` elements in m's map without the lock: m's largest size rises to it
 * (a compare-and-swap: two threads raising it at once must not lower it). */
static inline void mp_maps_raise_max(mp_map_inst_t *m, uint64_t elems)
{
	uint64_t cur = __atomic_load_n(&m->max_size, __ATOMIC_RELAXED);
	while (elems > cur && !__atomic_compare_exchange_n(&m->max_size, &cur, elems, true,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* maps_hint.c: bucket array -> instance, for inserts by threads that did not grow the map
 * last. put: m holds p now (maps lock held; the tracked arrays size the table); m is hinted from
 * then on. none:
 * the map at self holds p and no instance is its (maps lock held), until a map grows into an array
 * we cannot see (unseen: one may have; any lock or none). note: an insert reached `elems` in the
 * map at self holding `array`: raises the max_size of the instance holding it and returns true, or
 * true if it is known to have none (no lock); false: ask the maps lock. */
MP_HIDDEN void mp_maps_hint_put_locked(mp_map_inst_t *m, const void *p);
MP_HIDDEN void mp_maps_hint_none_locked(const void *self, const void *p);
/* m no longer holds p (maps lock held): its entry goes, what inserts counted there to m. */
MP_HIDDEN void mp_maps_hint_drop_locked(mp_map_inst_t *m, const void *p);
/* Maps lock held: what inserts counted in m's entry goes to its max_size (a dump reads it). */
MP_HIDDEN void mp_maps_hint_fold_locked(mp_map_inst_t *m);
MP_HIDDEN void mp_maps_hint_unseen(void);
MP_HIDDEN bool mp_maps_hint_note(const void *self, const void *array, uint64_t elems);
/* Fork child: the parent's instances are gone. */
MP_HIDDEN void mp_maps_hint_reset(void);

/* Maps lock held: whether p is (or may be) a bucket array a parent process tracked before it
 * forked this one. */
MP_HIDDEN bool mp_maps_inherited_locked(const void *p);

/* maps_stdcxx.c: the unordered_map halves of mp_maps_on_alloc / mp_maps_on_free. */
MP_HIDDEN unsigned mp_maps_cxx_on_alloc(mp_tls_t *t, void *p, size_t size);
MP_HIDDEN void mp_maps_cxx_on_free(mp_tls_t *t, void *p);
/* Guard held: an allocation of size bytes failed for good (mp_maps_alloc_failed). */
MP_HIDDEN void mp_maps_cxx_alloc_failed(mp_tls_t *t, size_t size);
/* Folds this thread's elements cache into its instance (lock held). */
MP_HIDDEN void mp_maps_cxx_flush_locked(void);
/* Lock held: folds the count of the thread caching m (m->cached_by, if any) into m. */
MP_HIDDEN void mp_maps_cxx_take_cache_locked(mp_map_inst_t *m);
/* The same, and ends that link (the thread asks the array table before it counts again). */
MP_HIDDEN void mp_maps_cxx_uncache_locked(mp_map_inst_t *m);
#endif
