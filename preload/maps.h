/* SPDX-License-Identifier: MIT */
/* Map growth tracking (uthash hooks, libstdc++ rehash interposition, the public map API). */
#ifndef MP_PRELOAD_MAPS_H
#define MP_PRELOAD_MAPS_H
#include "mp.h"

/* Guard held, no lock held. The allocation the pending map hook waited for; returns the map
 * kind to label its sample with (0 if it turned out not to be a bucket array). */
MP_HIDDEN unsigned mp_maps_on_alloc(mp_tls_t *t, void *p, size_t size);
/* Guard held, no lock held, before the real free: p hit the filter. */
MP_HIDDEN void mp_maps_on_free(mp_tls_t *t, void *p);
/* Set by operator delete's slow path around its mp_note_free: the free came through the C++
 * runtime's operator delete, a call the compiler cannot see into, so the map object it frees
 * for was written as the program's code says (maps_stdcxx.c, moved_out). This thread's only. */
extern MP_HIDDEN __thread bool mp_maps_via_delete __attribute__((tls_model("initial-exec")));
/* Around a call into the program's new-handler while a map grow awaits its bucket array: the
 * handler's allocations are its own (park), and the grow waits on when it returns (unpark),
 * unless the handler did map work of its own meanwhile. */
typedef struct {
	uint8_t pending, kind;
} mp_maps_park_t;
MP_HIDDEN void mp_maps_park(mp_tls_t *t, mp_maps_park_t *p);
MP_HIDDEN void mp_maps_unpark(mp_tls_t *t, const mp_maps_park_t *p);
/* Guard not held, no lock held, map_pending set: an allocation of `size` bytes failed for good
 * (operator new is about to throw bad_alloc). If the pending grow awaited it, it never happens. */
MP_HIDDEN void mp_maps_alloc_failed(mp_tls_t *t, size_t size);
/* Serializes the MAP_GROWS and MAP_SITES sections (dump.c); see dump.h. */
struct mp_buf;
MP_HIDDEN void mp_maps_dump(struct mp_buf *b);
/* Map events not recorded for want of memory (TOTALS.maps_dropped). */
MP_HIDDEN uint64_t mp_maps_dropped(void);
/* Init, before profiling starts: chooses the event clock (maps_int.h, mp_maps_now). */
MP_HIDDEN void mp_maps_init(void);
/* fork: the prepare handler takes the maps locks, parent and child release them. */
MP_HIDDEN void mp_maps_lock_all(void);
MP_HIDDEN void mp_maps_unlock_all(void);
/* Guard held, no lock held: the calling thread exits; its TLS is about to go. */
MP_HIDDEN void mp_maps_thread_exit(void);
/* Fork child. */
MP_HIDDEN void mp_maps_reset(void);
#endif
