/* SPDX-License-Identifier: MIT */
/* std::unordered_{map,set,multimap,multiset} of libstdc++, with no rebuild: the two exported
 * members of std::__detail::_Prime_rehash_policy that every _Hashtable asks before it grows
 * are interposed here (by their mangled names, from C) and forwarded to libstdc++.
 *
 * An instance is the policy object's address (inside the map). A grow runs, on one thread:
 * _M_need_rehash returns {true, n} (or reserve()/rehash() call _M_next_bkt directly), then
 * _M_rehash allocates the new bucket array (n pointers), moves the nodes and frees the old
 * array. The decision sets mp_tls.map_pending, so the shim core hands us the next allocation
 * (mp_maps_cxx_on_alloc): we label it and track it, so its free reaches us through the filter
 * (mp_maps_cxx_on_free). That free either ends a grow (the old array, freed as the very next
 * heap call of the rehash) or, with no grow pending, means the map died (its destructor, a
 * move-assignment over it). A map that never leaves its single built-in bucket allocates
 * nothing and is never seen. A map moved or swapped to another address takes its bucket array
 * along: its instance is found again by that array (the _Hashtable's _M_buckets, read next to
 * the policy) when it next grows there. See the map-growth issue for the model. */
#include <dlfcn.h>
#include "maps_int.h"
#include "thread.h"

/* std::pair<bool, std::size_t>: trivially copyable, so returned in RAX:RDX like this struct. */
typedef struct {
	bool first;
	size_t second;
} mp_need_t;

/* std::__detail::_Prime_rehash_policy's data members, part of libstdc++'s ABI since the symbols
 * above exist (GCC 4.7): the load factor, then the element count that triggers the next grow
 * (mutable; 0 before the first grow). */
struct policy {
	float max_load_factor;
	size_t next_resize;
};

/* The policy is _Hashtable's member _M_rehash_policy, right after these members (the layout of
 * libstdc++'s _Hashtable since GCC 4.9, bits/hashtable.h), and right before _M_single_bucket,
 * the bucket of a map that has never grown. The policy is used nowhere else. */
struct table_head {
	void *buckets; /* _M_buckets */
	size_t bucket_count;
	void *before_begin;
	size_t element_count;
};

static inline const struct table_head *head_of(const void *self)
{
	return (const struct table_head *)((const char *)self - sizeof(struct table_head));
}

static inline bool single_bucket(const void *self, const void *buckets)
{
	return buckets == (const char *)self + sizeof(struct policy);
}

/* More bucket pointers than x86-64's 47-bit user address space can hold (2^44 x 8 bytes): a
 * grow to that many is a reserve() that will throw, not a grow. */
#define MAX_BUCKETS ((uint64_t)1 << 44)
#define NEED_NAME   _ZNKSt8__detail20_Prime_rehash_policy14_M_need_rehashEmmm
#define NEXT_NAME   _ZNKSt8__detail20_Prime_rehash_policy11_M_next_bktEm
#define STR_(x)	    #x
#define STR(x)	    STR_(x)

typedef mp_need_t (*need_fn)(const void *, size_t, size_t, size_t);
typedef size_t (*next_fn)(const void *, size_t);

MP_EXPORT mp_need_t NEED_NAME(const void *self, size_t n_bkt, size_t n_elt, size_t n_ins);
MP_EXPORT size_t NEXT_NAME(const void *self, size_t n);

/* The real members, resolved on first use (a program without libstdc++ never calls us).
 * Written once with a release store by whichever thread gets there first (both would store
 * the same value); read with acquire. */
static need_fn real_need;
static next_fn real_next;

static void resolve(void)
{
	mp_tls.guard++; /* dlsym may allocate: not the program's allocation */
	need_fn n = (need_fn)mp_cxx_lookup(STR(NEED_NAME), (void *)NEED_NAME);
	next_fn x = (next_fn)mp_cxx_lookup(STR(NEXT_NAME), (void *)NEXT_NAME);
	mp_tls.guard--;
	__atomic_store_n(&real_next, x, __ATOMIC_RELEASE);
	__atomic_store_n(&real_need, n, __ATOMIC_RELEASE);
}

/* Maps lock held. The live instance of key with this serial, or NULL; this thread's last grown
 * instance is checked first, without a lookup (a live instance's serial is unique, and its key
 * is the one the table has it under). */
static inline mp_map_inst_t *valid(uintptr_t key, uint64_t serial)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	mp_map_inst_t *m = x->inst;
	if (m && serial != 0 && x->gen == mp_maps_gen && m->serial == serial && m->key == key)
		return m;
	m = mp_maps_find_locked(key);
	return m && m->serial == serial ? m : NULL;
}

void mp_maps_cxx_take_cache_locked(mp_map_inst_t *m)
{
	mp_maps_tls_t *x = m->cached_by;
	if (!x || x->policy_serial != m->serial)
		return; /* none, or that thread caches another map now */
	/* Its owner raises it without the lock (NEED_NAME): any value read is one it held. */
	uint64_t e = __atomic_load_n(&x->policy_elems, __ATOMIC_RELAXED);
	if (e > m->size)
		mp_maps_set_size_locked(m, e);
}

void mp_maps_cxx_uncache_locked(mp_map_inst_t *m)
{
	mp_maps_tls_t *x = m->cached_by;
	if (!x)
		return;
	mp_maps_cxx_take_cache_locked(m);
	m->cached_by = NULL;
	/* Its next insert at m's address asks the array table first. */
	if (x->policy_serial == m->serial)
		__atomic_store_n(&x->policy_buckets, MP_MAPS_ARRAY_GONE, __ATOMIC_RELAXED);
}

/* Maps lock held, x this thread's: x's thread counts m's elements from now on (it grew m last),
 * and m's death or move takes its count. The thread that did before is told
 * (mp_maps_cxx_uncache_locked), and the instance this one counted for before is let go: one
 * instance at most points at x, x->policy_inst, which the thread's exit unlinks. */
static void cache_take_over_locked(mp_map_inst_t *m, mp_maps_tls_t *x)
{
	if (x->policy_inst && x->policy_inst != m)
		mp_maps_cxx_flush_locked();
	if (m->cached_by != x)
		mp_maps_cxx_uncache_locked(m);
	m->cached_by = x;
	x->policy_serial = m->serial;
	x->policy_inst = m;
}

/* This thread's cache goes to its instance, found by pointer (instances live in arena memory,
 * never unmapped): m may have moved to another key, and must not keep pointing at this TLS. */
void mp_maps_cxx_flush_locked(void)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	mp_map_inst_t *m = x->policy_inst;
	if (!x->policy || !m)
		return;
	if (m->serial != 0 && m->serial == x->policy_serial && x->gen == mp_maps_gen &&
	    x->policy_elems > m->size)
		mp_maps_set_size_locked(m, x->policy_elems);
	if (m->cached_by == x)
		m->cached_by = NULL;
}

void mp_maps_thread_exit(void)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	if (!x->policy)
		return;
	mp_maps_lock();
	mp_maps_cxx_flush_locked();
	x->policy = NULL;
	x->policy_serial = 0;
	x->policy_inst = NULL;
	mp_maps_unlock();
}

/* Maps lock held: p, allocated for this thread's pending grow of m, becomes m's tracked array;
 * a grow's array seen allocated counts in its site's heap_grow_bytes. */
static void array_enter_locked(const mp_maps_tls_t *x, mp_map_inst_t *m, void *p)
{
	mp_maps_array_add_locked(m, p); /* drops m's old array if still there */
	if (!x->shrink)
		m->site->agg.heap_grow_bytes += x->to * sizeof(void *);
	m->heap_pending = 0;
}

/* Maps lock held. A new array whose entry in the array table waited for the free of the
 * array it replaces (mp_maps_tls_t.new_array) is entered now: that free came, or this
 * thread's next map event came first (the old array was then freed unseen). */
static void enter_new_array_locked(mp_maps_tls_t *x)
{
	void *p = x->new_array;
	if (!p)
		return;
	x->new_array = NULL;
	mp_map_inst_t *m = x->gen == mp_maps_gen ? valid(x->key, x->serial) : NULL;
	if (m)
		array_enter_locked(x, m, p);
	else
		mp_filter_remove_map(p);
}

/* Maps lock held: whether m's map, whose array p is freed with no grow pending, was moved out
 * of the map object it grew in (into a parameter or another map, whose end frees the array) or
 * replaced there by another map (swapped, or assigned one), rather than ended. Seen when m was
 * found at a new address since (detached: keyed by its array; m->moved tells whether the
 * object it was held its built-in bucket then, instance_at_locked), or when the object it grew in
 * lies in a live frame of this thread's stack, where it can be read (libstdc++'s _Hashtable):
 * - it holds its single built-in bucket: moved from, swapped with an empty map, or
 *   copy-assigned one (which takes the built-in bucket before it frees the array; one
 *   copy-assigned a map with buckets holds the new array first);
 * - it holds p with elements still counted: a move assignment over it frees the array before
 *   it takes the other map's, while its destructor (and clear()) counts no element first.
 *   Only when the free came through the C++ runtime's operator delete: where the compiler
 *   sees that the deallocation is free() (the program's own operator delete, an allocator
 *   that calls free), it drops the destructor's clear() as dead stores before the free, and
 *   every map destroyed would read as moved out (black-box QA: "pass it by reference" was
 *   advised for local maps never moved). A move assignment over a map is not told there.
 * A map in the heap, which may be gone, is not told at its end (a detached one was, at the
 * detach). */
static bool moved_out(mp_tls_t *t, const mp_map_inst_t *m, const void *p)
{
	if (m->key == mp_maps_key(MP_KIND_UNORDERED_MAP, p))
		return m->moved; /* detached: told then (instance_at_locked) */
	const void *self = (const void *)(m->key >> 2);
	const struct table_head *h = head_of(self);
	if (!mp_stack_live_frames(t, (uintptr_t)h, sizeof(*h) + sizeof(struct policy)))
		return false;
	return single_bucket(self, h->buckets) ||
	       (mp_maps_via_delete && h->buckets == p && h->element_count > 0);
}

/* Maps lock held: m's map is found at another address (a grow there), before m's key moves
 * there. Moved out if the map object it was, in a live frame of this thread's stack, holds its
 * single built-in bucket (moved from, or swapped with an empty map) or an array no tracked map
 * holds (a copy assigned to it since); m->moved keeps the answer for its end, which reads the
 * map at the new address. Two maps swapped hold each other's tracked arrays: not moved out. A
 * detached m (keyed by its array, not a map object) was told at the detach. */
static void note_moved_locked(mp_map_inst_t *m)
{
	if ((m->key & 3) != MP_KIND_UNORDERED_MAP)
		return;
	const void *self = (const void *)(m->key >> 2);
	const struct table_head *h = head_of(self);
	if (mp_stack_live_frames(&mp_tls, (uintptr_t)h, sizeof(*h) + sizeof(struct policy)) &&
	    (single_bucket(self, h->buckets) || !mp_maps_array_owner_locked(h->buckets)))
		m->moved = true;
}

/* Maps lock held. The live instance of the map whose policy is at self: the one under its key,
 * unless its bucket array is not the map's (the map it was is gone from here, moved or swapped
 * away, but lives on: detached, found by its array), else the instance that owns the map's
 * bucket array (a map moved or swapped here), which takes the key. NULL if neither. An
 * instance whose last grow's array came unseen (m->unseen) still lists the array before it:
 * when the map has the count that grow gave it (from) and an array no other instance holds,
 * it is that map, and the array listed is no longer its. */
static inline __attribute__((always_inline)) mp_map_inst_t *
instance_at_locked(mp_maps_tls_t *x, const void *self, uintptr_t key, uint64_t from, uint64_t now)
{
	mp_map_inst_t *m = x->inst;
	if (!m || m->serial == 0 || x->gen != mp_maps_gen || m->key != key)
		m = mp_maps_find_locked(key);
	void *cur = head_of(self)->buckets;
	if (m && m->array && m->array != cur) {
		mp_map_inst_t *o = cur ? mp_maps_array_owner_locked(cur) : NULL;
		if (m->unseen && from == m->buckets && (!o || o == m)) {
			mp_maps_array_remove_locked(m->array, m);
		} else {
			/* m's map went elsewhere: moved out if the map object it was holds its
			 * built-in bucket (moved from, or swapped with an empty map) or an array
			 * no tracked map holds (a copy assigned to it since), not if it holds
			 * another tracked map's array (two maps swapped; review) */
			if ((m->key & 3) == MP_KIND_UNORDERED_MAP &&
			    (single_bucket(self, cur) || !o))
				m->moved = true;
			mp_maps_detach_locked(m);
			m = NULL;
		}
	}
	if (!m && cur && !single_bucket(self, cur)) {
		m = mp_maps_array_owner_locked(cur);
		if (m) {
			note_moved_locked(m);
			mp_maps_rekey_locked(m, key, now);
		}
	}
	return m;
}

/* Maps lock held: whether this thread's last grow decision, for m, never happened. Its bucket
 * array could not be allocated (bad_alloc, from our operator new or the map's own allocator):
 * libstdc++ then puts the map back as it was, and the next insert asks for a grow from the same
 * count again, while m is recorded at the failed grow's count. Nothing else brings a map we
 * followed back to a count it had, unseen: a shrink is a decision too, a map moved or swapped
 * here holds another array (instance_at_locked), and a map that died freed its array. Hence
 * only for maps whose array we track (m->array): a std::pmr map's death is not seen, and the
 * next one made at its address may well grow from the same count (a first grow that fails is
 * not taken back either). */
static inline bool failed_before(const mp_maps_tls_t *x, const mp_map_inst_t *m, uint64_t from)
{
	return m->array && x->inst == m && x->serial == m->serial && x->gen == mp_maps_gen &&
	       !x->shrink && x->from == from && x->to == m->buckets && x->to != from &&
	       m->grows > 0;
}

/* Maps lock held. This thread's pending grow never saw its new bucket array: no allocation
 * came (a caching allocator handed out an array it kept), or another one (the map's allocator
 * made it from elsewhere, or the rehash failed and an exception was allocated). Unless the
 * rehash failed, the map no longer holds the array tracked for it: its next grow tells
 * (instance_at_locked). */
static void unseen_locked(const mp_maps_tls_t *x)
{
	if (x->stage == 1)
		mp_maps_hint_unseen(); /* no allocation came: stage 3 said it already */
	mp_map_inst_t *m = x->gen == mp_maps_gen ? valid(x->key, x->serial) : NULL;
	if (m)
		m->heap_pending = 0;
	if (m && m->array && m->array == x->old_array)
		m->unseen = true;
	/* A first grow whose array comes unseen (a std::pmr map's, a custom allocator's): the
	 * map may be one moved here from an instance we cannot find by its array, no copy. */
	if (m && x->fresh && m->copy) {
		m->copy = false;
		m->site->agg.copies--;
	}
}

/* Guard held, no lock held. A grow of the map whose policy is `self` was decided: from -> to
 * buckets (the map's own counts), `moved` elements rehashed, `size` elements after the
 * insert. True when the next allocation is awaited as its bucket array: the caller sets
 * map_pending as it leaves the guard (mp_guard_leave_pending). */
static inline __attribute__((always_inline)) bool grow(mp_tls_t *t, const void *self, uint64_t from,
						       uint64_t to, uint64_t moved, uint64_t size,
						       unsigned flags, uintptr_t call_sp)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	if (mp_unlikely(to > MAX_BUCKETS))
		return false; /* a reserve() that cannot succeed: it throws before allocating */
	/* A map may grow before the thread's first allocation (reserve(), or buckets from a
	 * custom allocator): the elements cache below needs the thread's exit destructor. */
	if (mp_unlikely(t->rec == NULL))
		mp_thread_attach(t);
	uint32_t stack = mp_maps_stack();
	/* One clock read per decision: the grow's duration starts here, so it includes this
	 * bookkeeping (one mutex round trip). */
	uint64_t now = mp_maps_now();
	uintptr_t key = mp_maps_key(MP_KIND_UNORDERED_MAP, self);
	mp_maps_lock();
	if (x->stage == 1 || x->stage == 3)
		unseen_locked(x);
	enter_new_array_locked(x);
	x->stage = 0; /* a pending grow not finished by now stays unmeasured */
	mp_map_inst_t *m = instance_at_locked(x, self, key, from, now);
	if (m && failed_before(x, m, from))
		mp_maps_ungrow_locked(m, x->grow, x->flags, from, x->moved, x->to * sizeof(void *));
	if (x->policy && x->policy != self)
		mp_maps_cxx_flush_locked();
	else if (m && x->policy == self && x->policy_serial == m->serial &&
		 x->policy_elems > m->size)
		mp_maps_set_size_locked(m, x->policy_elems);
	if (m) /* its array changes now: known again at the insert after (learn_array) */
		__atomic_store_n(&m->learned, NULL, __ATOMIC_RELAXED);
	bool fresh = false;
	/* The map's array is one we track or tracked: the instance here, with a stale count (a
	 * grow its allocator failed unseen), or a parent's before a fork. Not a copy, whose
	 * array is allocated without a grow and never tracked. */
	const void *cur = head_of(self)->buckets;
	bool tracked = cur && ((m && m->array == cur) || mp_maps_inherited_locked(cur));
	if (!m || m->buckets != from) {
		/* First sighting (a new map, a copy, one whose buckets come from elsewhere), or
		 * one whose array escaped us: a new instance, first seen here. */
		m = mp_maps_create_locked(key, stack, now);
		fresh = true;
	}
	if (!m) {
		mp_maps_unlock();
		return false;
	}
	/* A reserve at a load factor of 1/8 or less asks for 8 buckets per element or more on
	 * purpose: not to be read as oversized (churn.c). */
	float lf = ((const struct policy *)self)->max_load_factor;
	if ((flags & MP_GROW_EXPLICIT) && lf <= MP_SITE_LOWLOAD_MAX)
		m->site->flags |= MP_SITE_LOWLOAD;
	/* A reserve holds its count at the load factor of its time: one lowered since makes the
	 * map grow past it, which a larger reserve() would not cure (churn.c). */
	if (flags & MP_GROW_EXPLICIT)
		m->reserve_lf = lf;
	else if (m->reserve_lf > 0 && lf < m->reserve_lf && to > from && !m->lf_lowered) {
		m->lf_lowered = true;
		m->site->agg.lf_lowered++;
	}
	/* First seen at a grow (an insert's, or a reserve()) from more buckets than one: its
	 * array came from another map (a copy of one, or assigned over this one), not from
	 * growing here (churn.c); a map moved here is adopted by its old instance instead. */
	if (fresh && from > 1 && !tracked) {
		m->copy = true;
		m->site->agg.copies++;
	}
	/* rehash(n) and reserve(n) below the current count shrink the array: followed like a
	 * grow (the new array replaces the old), but not counted as one (nor adopted: adoption
	 * takes back a grow). */
	x->shrink = to < from;
	x->shrunk_before = m->shrunk; /* back if its array cannot be allocated */
	if (x->shrink)
		m->shrunk = true;
	else if (flags & MP_GROW_EXPLICIT)
		m->shrunk = false; /* sized again after its shrink: the size is the program's */
	else if (m->shrunk)
		/* An insert grows it again after the program shrank it: that grow comes from the
		 * shrink, not from a reserve too small (churn.c). A shrink at the end (clear(),
		 * rehash(0) before it dies) says nothing. */
		m->site->flags |= MP_SITE_SHRUNK;
	m->adoptable = fresh && from > 1 && !x->shrink;
	x->fresh = fresh;
	x->size_before = m->size;
	/* Raised without the lock by other threads' inserts (maps_hint.c), and read on its own:
	 * a 16-byte load of it with size, just stored apart by the flush above, would wait for
	 * those stores to reach the cache. */
	x->max_before = __atomic_load_n(&m->max_size, __ATOMIC_RELAXED);
	x->site_max_before = m->site->agg.max_size;
	x->size_set = size;
	if (size > m->size)
		mp_maps_set_size_locked(m, size);
	/* A map whose array we do not know (a pmr map's, a copy's): its new one will likely come
	 * unseen too, and another thread may insert before this one tells (stage 3). */
	if (from > 1 && (!m->array || m->unseen))
		mp_maps_hint_unseen();
	if (x->shrink) {
		m->buckets = to;
		x->grow = NULL;
	} else {
		x->grow =
		    mp_maps_grow_locked(m, stack, flags, from, to, moved, to * sizeof(void *), 0);
	}
	/* Its arrays seen so far (a std::pmr map's never are: none pending there) */
	m->heap_pending = !x->shrink && to > 1 && m->array && !m->unseen ? to * sizeof(void *) : 0;
	x->gen = mp_maps_gen;
	x->key = key;
	x->serial = m->serial;
	x->inst = m;
	x->old_array = m->array;
	x->from = from;
	x->to = to;
	x->moved = moved;
	x->flags = flags;
	x->adoptable = m->adoptable;
	if (mp_likely(t->rec != NULL)) {      /* its exit runs mp_maps_thread_exit */
		cache_take_over_locked(m, x); /* first: it may flush the map cached before */
		x->policy = self;
		x->policy_elems = m->size;
		/* The new array: the built-in bucket, or the allocation that follows (set then) */
		x->policy_buckets = to > 1 ? NULL : (char *)self + sizeof(struct policy);
	} else { /* exiting, or no record (no exit destructor): nothing may point at this TLS */
		x->policy = NULL;
		x->policy_serial = 0;
		x->policy_inst = NULL;
	}
	mp_maps_unlock();
	x->t0 = now;
	if (to > 1) {
		x->stage = 1;
		/* An insert's decision only: its caller goes on after the rehash (it inserts the
		 * node), so the array comes from below it. reserve() and rehash() may end in a tail
		 * call to the rehash (built without exceptions) that leaves their frame first. */
		x->call_sp = flags & MP_GROW_EXPLICIT ? 0 : call_sp;
		x->waited = 0;
		t->map_call_sp = 0;
		t->map_kind = MP_KIND_UNORDERED_MAP;
		return true;
	}
	x->stage = x->old_array ? 2 : 0; /* back to the built-in bucket: only a free */
	x->ops = t->n.alloc_calls + t->n.free_calls;
	return false;
}

/* Maps lock held: this thread's pending grow of m ended at `now` (its duration from the
 * decision, x->t0, goes to m's site and the grow's aggregate). */
static void grow_ends_locked(const mp_maps_tls_t *x, mp_map_inst_t *m, uint64_t now)
{
	mp_maps_grow_ns_locked(m->site, x->grow,
			       mp_maps_ns_locked(now > x->t0 ? now - x->t0 : 0, now));
}

/* Guard held, no lock held: the allocation after a grow decision. Returns its map kind. When
 * the grow replaces a tracked array, whose free is the rehash's very next heap call, p waits
 * in TLS for that free (no lock here); otherwise it is entered in the array table now. */
unsigned mp_maps_cxx_on_alloc(mp_tls_t *t, void *p, size_t size)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	uintptr_t sp = t->map_call_sp;
	t->map_call_sp = 0;
	if (x->stage != 1 || x->gen != mp_maps_gen || size != x->to * sizeof(void *) ||
	    sp == MP_MAP_CALL_REALLOC || (sp && x->call_sp && sp > x->call_sp)) {
		/* not a bucket array: a custom allocator's, or the rehash failed; or one of the
		 * array's size that the program asked for after the rehash (a std::pmr map's array
		 * comes from its resource, not from malloc) */
		if (x->stage == 1 && x->gen == mp_maps_gen && size != x->to * sizeof(void *) &&
		    sp && sp != MP_MAP_CALL_REALLOC && x->call_sp && sp <= x->call_sp &&
		    x->waited < MP_ARRAY_WAIT) {
			/* Another size, called from within an insert's rehash (malloc or operator
			 * new, below the insert): the map's allocator may do work of its own before
			 * it asks for the array (a log line, its bookkeeping), which then came
			 * unseen. Wait on. (After a reserve(), whose rehash may leave its frame
			 * first, the stack tells nothing: the first allocation decides.) */
			x->waited++;
			mp_map_pending_set(t, 1);
			return 0;
		}
		if (x->stage == 1 && x->gen == mp_maps_gen) {
			x->stage = 3;
			mp_maps_hint_unseen(); /* "no instance" answers may no longer hold */
		} else {
			x->stage = 0;
		}
		return 0;
	}
	mp_filter_add_map(p); /* before the program holds p: any thread's free of it sees it */
	x->ops = t->n.alloc_calls + t->n.free_calls;
	if (x->policy && x->policy_serial == x->serial)
		x->policy_buckets = p; /* the grown map's elements are counted while it holds p */
	if (x->old_array) {
		x->new_array = p;
		x->stage = 2;
		return MP_KIND_UNORDERED_MAP;
	}
	/* A grow out of the single built-in bucket frees no array: it ends here, with at most
	 * one node left to move (the grow from 1 bucket comes at the first insert), before the
	 * zeroing pass libstdc++ makes over the new array. Its page faults, most of the time of a
	 * reserve() on a new map in fresh memory (87 ms of 1M buckets read as 0.2 ms), are taken
	 * here, timed: a byte per page, in memory malloc just returned that nobody holds yet
	 * (never realloc's, above), changes nothing, and the map's own pass then finds the pages
	 * mapped. (Zeroing it all
	 * here would time the pass too, but made such a reserve() up to twice as slow.) */
	uint64_t now = 0;
	if (x->from <= 1 && !x->shrink) {
		for (size_t off = 0; off < size; off += 4096)
			((volatile char *)p)[off] = 0;
		((volatile char *)p)[size - 1] = 0; /* the last page, p not page-aligned */
		now = mp_maps_now();
	}
	mp_maps_lock();
	mp_map_inst_t *m = valid(x->key, x->serial);
	if (m)
		array_enter_locked(x, m, p);
	else
		mp_filter_remove_map(p);
	if (m && now)
		grow_ends_locked(x, m, now);
	mp_maps_unlock();
	x->stage = m && x->adoptable ? 2 : 0;
	return MP_KIND_UNORDERED_MAP;
}

/* The bucket array of this thread's pending grow could not be allocated: operator new is
 * about to throw bad_alloc out of the rehash, and libstdc++ puts the map back as it was. So the
 * grow, and the element its insert would have added, never were; a map first seen at this grow
 * was never seen (it keeps its single built-in bucket). A retry asks for the same grow again
 * and is counted then. (An allocator that throws without a failing operator new is left to
 * failed_before: an exception alone does not say that the array failed.) */
void mp_maps_cxx_alloc_failed(mp_tls_t *t, size_t size)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	if (x->stage != 1 || x->gen != mp_maps_gen || size != x->to * sizeof(void *))
		return;
	x->stage = 0;
	t->map_pending = 0;
	mp_maps_lock();
	mp_map_inst_t *m = valid(x->key, x->serial);
	if (m) {
		m->heap_pending = 0;
		m->shrunk = x->shrunk_before;
		if (x->shrink)
			m->buckets = x->from;
		else
			mp_maps_ungrow_locked(m, x->grow, x->flags, x->from, x->moved,
					      x->to * sizeof(void *));
		x->grow = NULL;
		/* Sizes an insert's grow raised to count the element it adds, unless raised
		 * further since (reserve() and rehash() count what the map holds). */
		if (!(x->flags & MP_GROW_EXPLICIT)) {
			if (m->size == x->size_set)
				m->size = x->size_before;
			if (m->max_size == x->size_set && x->max_before < x->size_set)
				m->max_size = x->max_before;
			mp_site_agg_t *a = &m->site->agg;
			if (a->max_size == x->size_set && x->site_max_before < x->size_set)
				a->max_size = x->site_max_before;
			if (x->policy_serial == m->serial && x->policy_elems == x->size_set)
				x->policy_elems = m->size;
		}
		if (x->fresh) {
			mp_maps_cxx_uncache_locked(m);
			if (x->policy_inst == m) {
				x->policy = NULL;
				x->policy_serial = 0;
				x->policy_inst = NULL;
			}
			mp_maps_discard_locked(m);
		}
	}
	mp_maps_unlock();
}

__thread bool mp_maps_via_delete __attribute__((tls_model("initial-exec")));

/* Guard held, no lock held, before the real free: p hit the filter's map counter. */
void mp_maps_cxx_on_free(mp_tls_t *t, void *p)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	uint64_t now = mp_maps_now();
	mp_maps_lock();
	bool pending = x->stage == 2 && x->gen == mp_maps_gen;
	mp_map_inst_t *g = pending ? valid(x->key, x->serial) : NULL;
	if (pending)
		x->stage = 0;
	mp_map_inst_t *owner = mp_maps_array_remove_locked(p, g); /* g's old array, usually */
	if (g && owner == g && p == x->old_array) {
		/* The grow's end: its old array goes, its new one (if any) takes the place. */
		enter_new_array_locked(x);
		if (!x->shrink)
			grow_ends_locked(x, g, now);
		mp_maps_unlock();
		return;
	}
	enter_new_array_locked(x);
	if (!owner) {
		mp_maps_unlock();
		return;
	}
	/* The free right after the new array's allocation, with no heap call between. */
	bool next = t->rec && t->n.alloc_calls + t->n.free_calls == x->ops + 1;
	if (g && owner != g && next && x->adoptable && owner->buckets == x->from) {
		/* owner was moved to g's address: one map, seen at its old site. */
		note_moved_locked(owner);
		if (x->policy_serial == g->serial)
			cache_take_over_locked(owner, x);
		mp_maps_adopt_locked(owner, g, x->to * sizeof(void *));
		if (!x->shrink)
			grow_ends_locked(x, owner, now);
		mp_maps_unlock();
		return;
	}
	/* No grow pending: the map freed its buckets for good. */
	if (x->policy_serial == owner->serial)
		mp_maps_cxx_flush_locked();
	if ((owner->key & 3) == MP_KIND_UNORDERED_MAP && (owner->moved || moved_out(t, owner, p)))
		owner->site->agg.moved_out++;
	mp_maps_kill_locked(owner, now);
	mp_maps_unlock();
}

/* Maps lock held: this thread's elements cache goes to its instance and ends. */
static void drop_policy_locked(mp_maps_tls_t *x)
{
	mp_maps_cxx_flush_locked();
	x->policy = NULL;
	x->policy_serial = 0;
	x->policy_inst = NULL;
}

/* The map at the cached policy has another bucket array than the one cached: the same map
 * grown since by another thread, or another map put there by a swap or a move (no call to us).
 * The array table tells which; a map that is not the cached one ends the cache (what it
 * counted so far goes to its instance). Guard not held on entry. */
static __attribute__((noinline)) void recheck_policy(mp_maps_tls_t *x, void *cur, uint64_t elems)
{
	mp_tls_t *t = &mp_tls;
	if (t->guard)
		return; /* a signal handler's insert: the interrupted profiler may hold the lock */
	t->guard++;
	mp_maps_lock();
	mp_map_inst_t *m = mp_maps_array_owner_locked(cur);
	if (m && m->serial == x->policy_serial && x->gen == mp_maps_gen && m->cached_by &&
	    m->cached_by != x) {
		/* Still the map this thread grew, grown since by another live thread, which
		 * counts it now: this count goes in, and this thread's later inserts in it are
		 * counted through the hints (maps_hint.c), without the lock (taking over would
		 * make two threads that insert in turn take the lock on every insert). */
		if (elems > m->size)
			mp_maps_set_size_locked(m, elems);
		drop_policy_locked(x);
	} else if (m && m->serial == x->policy_serial && x->gen == mp_maps_gen) {
		/* Still the map this thread grew, counted by no other thread. */
		if (!m->cached_by)
			cache_take_over_locked(m, x);
		x->policy_buckets = cur;
		if (elems > x->policy_elems)
			__atomic_store_n(&x->policy_elems, elems, __ATOMIC_RELAXED);
	} else if (m && x->gen == mp_maps_gen && !m->cached_by) {
		/* Another map we track, put here by a swap or a move: this thread fills it now,
		 * so its elements are counted here from now on, as after a grow here (a map
		 * swapped back to where another one grew kept its size from before the swap). */
		cache_take_over_locked(m, x); /* flushes the one counted so far */
		x->policy_buckets = cur;
		__atomic_store_n(&x->policy_elems, elems > m->size ? elems : m->size,
				 __ATOMIC_RELAXED);
	} else {
		if (m && x->gen == mp_maps_gen && elems > m->size)
			mp_maps_set_size_locked(m, elems); /* another thread's cache: this one */
		drop_policy_locked(x);
	}
	mp_maps_unlock();
	t->guard--;
}

/* Guard not held. The first insert after this thread's grow of the map at self, whose bucket
 * array was not seen allocated: cur is that array, if the map there is still the one that
 * grew (as many buckets). Its instance learns it, for inserts that do not come through this
 * cache (maps_hint.c: a pmr map's elements added after another map grew went uncounted),
 * unless another instance holds it, tracked (a map moved here, or one whose array a caching
 * allocator took back unseen: its next grow tells which). */
static __attribute__((noinline)) void learn_array(mp_maps_tls_t *x, const void *self, void *cur)
{
	mp_tls_t *t = &mp_tls;
	if (t->guard)
		return; /* a signal handler's insert: the interrupted profiler may hold the lock */
	t->guard++;
	mp_maps_lock();
	mp_map_inst_t *m = x->policy_inst;
	if (m && m->serial != 0 && m->serial == x->policy_serial && x->gen == mp_maps_gen &&
	    m->cached_by == x && head_of(self)->bucket_count == m->buckets) {
		m->unseen = m->array != NULL;
		mp_map_inst_t *o = mp_maps_array_owner_locked(cur);
		if (!o) {
			__atomic_store_n(&m->learned, cur, __ATOMIC_RELAXED);
			mp_maps_hint_put_locked(m, cur);
		}
	}
	mp_maps_unlock();
	t->guard--;
}

/* An insert reached `elems` in a map at the policy this thread last grew, whose bucket array is
 * not the one cached: the array of a grow not seen allocated (a custom allocator) is taken
 * from the first insert after it; any other goes to recheck_policy. */
static __attribute__((noinline)) mp_need_t other_array(mp_maps_tls_t *x, const void *self,
						       void *cur, uint64_t elems)
{
	const void *none = NULL;
	/* Not a plain store: the maps lock's holder may mark it gone meanwhile. */
	if (!__atomic_compare_exchange_n(&x->policy_buckets, &none, cur, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED)) {
		recheck_policy(x, cur, elems);
		return (mp_need_t){false, 0};
	}
	if (elems > x->policy_elems)
		__atomic_store_n(&x->policy_elems, elems, __ATOMIC_RELAXED);
	if (!single_bucket(self, cur))
		learn_array(x, self, cur);
	return (mp_need_t){false, 0};
}

/* Maps lock held: the instance of the map at self, whose bucket array is cur, when the hints
 * did not know it. The instance that holds cur, tracked (its hint was overwritten); else the
 * one at self's key with as many buckets, if no array is known for it since its last grow
 * (arrays that do not come from malloc: learned here as learn_array does, when its thread
 * moved on to another map before its next insert, or another thread inserts first). An
 * instance that knows another array is not this map: its own moved away (a map copied or
 * assigned here since, with no call to us), or died unseen. NULL: no instance we know. */
static mp_map_inst_t *insert_owner_locked(const void *self, void *cur)
{
	mp_map_inst_t *m = mp_maps_array_owner_locked(cur);
	if (m)
		return m;
	m = mp_maps_find_locked(mp_maps_key(MP_KIND_UNORDERED_MAP, self));
	if (!m || head_of(self)->bucket_count != m->buckets || (m->array && !m->unseen))
		return NULL; /* another map, or one whose array we track: not this one */
	const void *known = __atomic_load_n(&m->learned, __ATOMIC_RELAXED);
	if (known && known != cur)
		return NULL;
	__atomic_store_n(&m->learned, cur, __ATOMIC_RELAXED);
	return m;
}

/* An insert reached `elems` in a map at self that is not this thread's cached one: the map
 * whose bucket array an instance holds (maps_hint.c: a map this thread grew before, one handed
 * over from the thread that grew it, one filled by threads in turn) gets its largest size
 * raised without the lock (racy with a dump's read under the lock, which sees this size or
 * the one before). A map that never left its built-in bucket has no instance. One the hints
 * do not know is looked for under the lock, and the answer goes in the hints: its instance, or
 * that it has none (a copy that never grew: its inserts then do not ask again until some map
 * grows into an array we cannot see, which may give the map here an instance). Only if the
 * lock is free: an insert never waits for it (threads filling many maps at once would queue on
 * it), and the map's next insert, which counts every element before it, tries again. */
static __attribute__((noinline)) mp_need_t other_map(const void *self, void *cur, uint64_t elems)
{
	if (single_bucket(self, cur) || mp_maps_hint_note(self, cur, elems))
		return (mp_need_t){false, 0};
	mp_tls_t *t = &mp_tls;
	if (!mp_maps_active(t))
		return (mp_need_t){false, 0};
	t->guard++;
	if (!mp_maps_trylock()) {
		t->guard--;
		return (mp_need_t){false, 0};
	}
	mp_map_inst_t *m = insert_owner_locked(self, cur);
	if (m) {
		mp_maps_hint_put_locked(m, cur);
		mp_maps_raise_max(m, elems);
	} else {
		mp_maps_hint_none_locked(self, cur);
	}
	mp_maps_unlock();
	t->guard--;
	return (mp_need_t){false, 0};
}

/* Everything but the common "no rehash" answer: resolution, forwarding when inactive, and
 * the real decision. Out of line so that the fast path below needs no stack frame (the
 * capture buffer lives here); reached by a tail call, so it adds no frame to the stack that
 * libunwind walks. */
static __attribute__((noinline)) mp_need_t need_slow(const void *self, size_t n_bkt, size_t n_elt,
						     size_t n_ins, uintptr_t call_sp)
{
	need_fn f = __atomic_load_n(&real_need, __ATOMIC_ACQUIRE);
	if (mp_unlikely(!f)) {
		resolve();
		f = real_need;
		if (!f)
			return (mp_need_t){false, 0};
	}
	mp_tls_t *t = &mp_tls;
	if (!mp_maps_active(t))
		return f(self, n_bkt, n_elt, n_ins);
	mp_maps_tls_t *x = &mp_maps_tls;
	x->in_need = 1;
	mp_need_t r = f(self, n_bkt, n_elt, n_ins);
	x->in_need = 0;
	if (!r.first)
		return r;
	mp_guard_enter(t);
	bool wait = grow(t, self, n_bkt, r.second, n_elt, n_elt + 1, 0, call_sp);
	mp_guard_leave_pending(t, wait);
	return r;
}

/* Called on every insert: keep the common "no rehash" answer to a load, a call and a compare.
 * Guard not held on entry. Every other way out is a tail call, so it needs no frame of its
 * own (the caller's stack pointer for need_slow is then an lea, not a frame's setup). */
MP_EXPORT mp_need_t NEED_NAME(const void *self, size_t n_bkt, size_t n_elt, size_t n_ins)
{
	/* The real function's first test, done here: below the policy's _M_next_resize it
	 * answers {false, 0} without side effects, and that is nearly every insert. It is the
	 * right answer in any state of the shim, so no other test comes first. */
	if (mp_likely(n_elt + n_ins <= ((const struct policy *)self)->next_resize)) {
		/* n_ins is a hint (a range's length, a merge's source size): duplicates may not
		 * go in. libstdc++ calls again for each element it does insert (n_ins >= 1),
		 * with n_elt the count before it, so n_elt + 1 is a count the map reached. */
		/* The map this thread grew last is known by its bucket array: a swap or a move
		 * puts another map at its address without a call to us, and that one's elements
		 * are not its. The array is the one allocated for the grow (mp_maps_cxx_on_alloc).
		 * Both stay NULL while tracking is off. */
		mp_maps_tls_t *x = &mp_maps_tls;
		void *cur = head_of(self)->buckets;
		if (mp_likely(cur == x->policy_buckets)) {
			if (n_elt + 1 > x->policy_elems) /* read by dumps */
				__atomic_store_n(&x->policy_elems, n_elt + 1, __ATOMIC_RELAXED);
		} else if (self == x->policy) {
			return other_array(x, self, cur, n_elt + 1);
		} else if (mp_config.maps) {
			return other_map(self, cur, n_elt + 1);
		}
		return (mp_need_t){false, 0};
	}
	/* The caller's stack pointer, taken here: need_slow's own frame may be below it. */
	return need_slow(self, n_bkt, n_elt, n_ins, (uintptr_t)__builtin_dwarf_cfa());
}

/* Called by reserve(), rehash() and the sizing constructors (explicit grows), and by the real
 * _M_need_rehash through libstdc++'s PLT (ignored: in_need). Guard not held on entry. */
MP_EXPORT size_t NEXT_NAME(const void *self, size_t n)
{
	next_fn f = __atomic_load_n(&real_next, __ATOMIC_ACQUIRE);
	if (mp_unlikely(!f)) {
		resolve();
		f = real_next;
		if (!f)
			return n;
	}
	size_t r = f(self, n);
	mp_tls_t *t = &mp_tls;
	if (mp_likely(!mp_maps_active(t)) || mp_maps_tls.in_need)
		return r;
	mp_guard_enter(t);
	/* rehash() to the current count allocates nothing; neither does a fresh map asked for
	 * one bucket. The counts are the map's own (a copy, or a map never seen, has them too). */
	const struct table_head *h = head_of(self);
	bool wait = false;
	if (r != h->bucket_count && h->bucket_count - 1 < MAX_BUCKETS &&
	    h->element_count < MAX_BUCKETS) /* not a policy outside a _Hashtable */
		wait = grow(t, self, h->bucket_count, r, h->element_count, h->element_count,
			    MP_GROW_EXPLICIT, (uintptr_t)__builtin_dwarf_cfa());
	mp_guard_leave_pending(t, wait);
	return r;
}
