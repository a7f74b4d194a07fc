/* SPDX-License-Identifier: MIT */
/* The profiler's only source of memory: mmap-backed, never the program's allocator. */
#ifndef MP_PRELOAD_ARENA_H
#define MP_PRELOAD_ARENA_H
#include <stddef.h>
#include "mp.h"

/* Returns zeroed memory aligned to 16 bytes (64 for sizes >= 64), or NULL when the mapping
 * fails or the cap is reached (a quarter of the process's address-space or data limit, if it
 * has one). Takes the arena lock; must not be called from a signal handler. */
MP_HIDDEN void *mp_arena_alloc(size_t size);
/* The same past the cap: for the dump's buffer. */
MP_HIDDEN void *mp_arena_alloc_dump(size_t size);
/* True once per process: the caller says the profiler ran short of memory (the cap's line or
 * a dropped sample's); one such line is enough, the dumps count the rest. */
MP_HIDDEN bool mp_arena_short_first(void);
/* Fork child, single-threaded: its first such line is said again. */
MP_HIDDEN void mp_arena_short_reset(void);
/* Gives memory back for reuse by a later mp_arena_alloc of a similar size. */
MP_HIDDEN void mp_arena_free(void *p, size_t size);
/* Bytes mapped so far (for tests and the RSS budget). */
MP_HIDDEN size_t mp_arena_mapped(void);
/* fork support: the prepare handler locks, parent/child unlock. */
MP_HIDDEN void mp_arena_lock(void);
MP_HIDDEN void mp_arena_unlock(void);
#endif
