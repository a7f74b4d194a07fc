/* SPDX-License-Identifier: MIT */
/* The public map API of include/mapprof.h (kind MP_KIND_API): any other hash map reports its
 * creation, grows and destruction itself. `map` is the instance's identity; NULL is no map
 * (the calls are ignored). */
#include <stdio.h>
#include "maps_int.h"

static inline uintptr_t key_of(const void *map)
{
	return mp_maps_key(MP_KIND_API, map);
}

/* As malloc does: a library's constructor may make its tables before any allocation and
 * before ours runs (they were lost without a word). */
static inline bool api_active(mp_tls_t *t)
{
	if (mp_unlikely(mp_state == MP_UNINIT))
		mp_init();
	return mp_maps_active(t);
}

MP_EXPORT void mapprof_map_create(const void *map)
{
	mp_tls_t *t = &mp_tls;
	if (!api_active(t) || !map)
		return;
	t->guard++;
	uint32_t stack = mp_maps_stack();
	uint64_t now = mp_maps_now();
	mp_maps_lock();
	mp_maps_create_locked(key_of(map), stack, now);
	mp_maps_unlock();
	t->guard--;
}

/* A grow that took longer than the process has run (with 10 ms for the clocks to disagree) is
 * a time point passed for a duration (now_ns() for now_ns() - t0): taken as unmeasured, as
 * its site's time share would read billions of percent. Said once. */
#define NS_SLACK 10000000ull
static uint64_t sane_ns(uint64_t ns)
{
	static bool said;
	if (!ns)
		return 0;
	uint64_t now = mp_mono_ns(); /* not the wall clock, which may be set back */
	uint64_t ran = now > mp_start_mono_ns ? now - mp_start_mono_ns : 0;
	if (ns <= ran + NS_SLACK)
		return ns;
	if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED)) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "mapprof_map_grow() or _reserve() was given a grow time of %llu ns, "
			 "longer than the process has run: taken as unmeasured, here and wherever "
			 "it happens (pass the grow's duration, not a time point)",
			 (unsigned long long)ns);
		mp_log(msg);
	}
	return 0;
}

static void api_grow(const void *map, size_t from, size_t to, size_t elements, size_t bytes,
		     uint64_t ns, unsigned flags)
{
	mp_tls_t *t = &mp_tls;
	if (!api_active(t) || !map)
		return;
	t->guard++;
	ns = sane_ns(ns);
	uint32_t stack = mp_maps_stack();
	uint64_t now = mp_maps_now();
	mp_maps_lock();
	mp_map_inst_t *m = mp_maps_find_locked(key_of(map));
	if (!m && to > from) /* no create call seen: first seen at this grow */
		m = mp_maps_create_locked(key_of(map), stack, now);
	if (m) {
		mp_maps_set_size_locked(m, elements);
		/* To as many buckets or fewer: no grow (as a rehash to fewer buckets of an
		 * unordered_map), only the element count is taken. A grow after a shrink comes
		 * from the shrink, not from an initial size too small (as maps_stdcxx.c says). */
		if (to < from)
			m->shrunk = true;
		else if (to > from && (flags & MP_GROW_EXPLICIT))
			m->shrunk = false;
		else if (to > from && m->shrunk)
			m->site->flags |= MP_SITE_SHRUNK;
		if (to > from)
			mp_maps_grow_locked(m, stack, flags, from, to, elements, bytes, ns);
	}
	mp_maps_unlock();
	t->guard--;
}

MP_EXPORT void mapprof_map_grow(const void *map, size_t from_buckets, size_t to_buckets,
				size_t elements, size_t bytes, uint64_t ns)
{
	api_grow(map, from_buckets, to_buckets, elements, bytes, ns, 0);
}

MP_EXPORT void mapprof_map_reserve(const void *map, size_t from_buckets, size_t to_buckets,
				   size_t elements, size_t bytes, uint64_t ns)
{
	api_grow(map, from_buckets, to_buckets, elements, bytes, ns, MP_GROW_EXPLICIT);
}

MP_EXPORT void mapprof_map_destroy(const void *map, size_t elements)
{
	mp_tls_t *t = &mp_tls;
	if (!api_active(t) || !map)
		return;
	t->guard++;
	uint64_t now = mp_maps_now();
	mp_maps_lock();
	mp_map_inst_t *m = mp_maps_find_locked(key_of(map));
	if (m) {
		mp_maps_set_size_locked(m, elements);
		mp_maps_kill_locked(m, now);
	}
	mp_maps_unlock();
	t->guard--;
}
