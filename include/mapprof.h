/* SPDX-License-Identifier: MIT */
/* mapprof's public API. Every function is a weak reference: a program that uses it links and
 * runs without libmapprof.so, and the calls are then skipped. Always call through the
 * MAPPROF_* macros below (or test the function's address first), never directly: without the
 * shim the address is NULL. */
#ifndef MAPPROF_H
#define MAPPROF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a dump now (a full snapshot; the file name comes from MAPPROF_OUT). Returns 0 on
 * success, -1 if profiling is off or the dump could not be written (also when called from a
 * signal handler that interrupted the profiler on this thread: use MAPPROF_SIGNAL instead). */
int mapprof_dump(void) __attribute__((weak));

/* Map growth for hash maps mapprof does not know (khash, your own table). `map` identifies the
 * instance (its address); a new create at an address whose map was destroyed starts a new
 * instance. `elements` is the element count when the call is made; `bytes` the size of the new
 * bucket array; `ns` the time the grow took (0 if unmeasured). */
void mapprof_map_create(const void *map) __attribute__((weak));
void mapprof_map_grow(const void *map, size_t from_buckets, size_t to_buckets, size_t elements,
		      size_t bytes, uint64_t ns) __attribute__((weak));
void mapprof_map_reserve(const void *map, size_t from_buckets, size_t to_buckets, size_t elements,
			 size_t bytes, uint64_t ns) __attribute__((weak));
void mapprof_map_destroy(const void *map, size_t elements) __attribute__((weak));

#define MAPPROF_DUMP() (mapprof_dump ? mapprof_dump() : -1)
#define MAPPROF_MAP_CREATE(m)                                                                      \
	do {                                                                                       \
		if (mapprof_map_create)                                                            \
			mapprof_map_create(m);                                                     \
	} while (0)
#define MAPPROF_MAP_GROW(m, from, to, elements, bytes, ns)                                         \
	do {                                                                                       \
		if (mapprof_map_grow)                                                              \
			mapprof_map_grow(m, from, to, elements, bytes, ns);                        \
	} while (0)
#define MAPPROF_MAP_RESERVE(m, from, to, elements, bytes, ns)                                      \
	do {                                                                                       \
		if (mapprof_map_reserve)                                                           \
			mapprof_map_reserve(m, from, to, elements, bytes, ns);                     \
	} while (0)
#define MAPPROF_MAP_DESTROY(m, elements)                                                           \
	do {                                                                                       \
		if (mapprof_map_destroy)                                                           \
			mapprof_map_destroy(m, elements);                                          \
	} while (0)

#ifdef __cplusplus
}
#endif
#endif
