/* SPDX-License-Identifier: MIT */
/* mapprof's public API. Every function is a weak reference: a program that uses it links and
 * runs without libmapprof.so, and the calls are then skipped. Always call through the
 * MAPPROF_* macros below, never directly: without the shim the address is NULL (and in code
 * built without -fpie, testing the address yourself reads NULL even with the shim). */
#ifndef MAPPROF_H
#define MAPPROF_H
/* The warnings a system header is spared (C++'s -Wold-style-cast...): none from here. */
#if defined(__INCLUDE_LEVEL__) && __INCLUDE_LEVEL__ > 0 /* not when checked on its own */
#pragma GCC system_header
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* inline is C99 and C++: C89 code (-std=c89, -ansi) gets GCC's and clang's own spelling. */
#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#define MAPPROF_INLINE_ inline
#else
#define MAPPROF_INLINE_ __inline__
#endif

/* Weak, and of default visibility whatever the including code's (a library's sources wrapped in
 * `#pragma GCC visibility push(hidden)`): a hidden undefined weak reference is bound to 0 at
 * link time, and the shim could never supply it. */
#define MAPPROF_WEAK_ __attribute__((weak, visibility("default")))

/* Writes a dump now (a full snapshot; the file name comes from MAPPROF_OUT). Returns 0 on
 * success, -1 if profiling is off or the dump could not be written (also when called from a
 * signal handler that interrupted the profiler on this thread, or from one on an alternate
 * signal stack with less than 9 KiB left: use MAPPROF_SIGNAL instead). */
int mapprof_dump(void) MAPPROF_WEAK_;

/* Map growth for hash maps mapprof does not know (khash, your own table). `map` identifies the
 * instance (its address; NULL: the call is ignored); a new create at an address whose map was
 * destroyed starts a new instance. `elements` is the element count when the call is made;
 * `bytes` the size of the new bucket array; `ns` the time the grow took (0 if unmeasured; one
 * longer than the process has run is taken as unmeasured, with one `mapprof:` line). A
 * grow or reserve to as many buckets as before, or fewer, is not counted as a grow (only its
 * element count is taken). */
void mapprof_map_create(const void *map) MAPPROF_WEAK_;
void mapprof_map_grow(const void *map, size_t from_buckets, size_t to_buckets, size_t elements,
		      size_t bytes, uint64_t ns) MAPPROF_WEAK_;
void mapprof_map_reserve(const void *map, size_t from_buckets, size_t to_buckets, size_t elements,
			 size_t bytes, uint64_t ns) MAPPROF_WEAK_;
void mapprof_map_destroy(const void *map, size_t elements) MAPPROF_WEAK_;

/* MAPPROF_FN_(f): the address of the weak function f, NULL without the shim. In code built
 * without -fpie/-fpic (a -no-pie executable) the linker resolves a weak reference to a function
 * that no library it links defines to 0 for good, so the shim preloaded at run time could not
 * supply it and every call would be skipped: such code loads the address from the GOT instead,
 * which the dynamic linker fills (x86-64, not x32; elsewhere build with -fpie). A statement
 * expression: for function bodies only (the getters below wrap it). */
#ifndef MAPPROF_FN_
#if defined(__x86_64__) && !defined(__ILP32__) && !defined(__PIC__)
#define MAPPROF_FN_(f)                                                                             \
	__extension__({                                                                            \
		__typeof__(&f) mapprof_f_;                                                         \
		__asm__(".weak " #f "\n\t{movq " #f "@GOTPCREL(%%rip), %0|mov %0, QWORD PTR " #f   \
			"@GOTPCREL[rip]}"                                                          \
			: "=r"(mapprof_f_));                                                       \
		mapprof_f_;                                                                        \
	})
#else
#define MAPPROF_FN_(f) (&f)
#endif
#endif

typedef int (*mapprof_dump_fn_)(void);
typedef void (*mapprof_create_fn_)(const void *);
typedef void (*mapprof_grow_fn_)(const void *, size_t, size_t, size_t, size_t, uint64_t);
typedef void (*mapprof_destroy_fn_)(const void *, size_t);
static MAPPROF_INLINE_ mapprof_dump_fn_ mapprof_dump_fn_get_(void)
{
	return MAPPROF_FN_(mapprof_dump);
}
static MAPPROF_INLINE_ mapprof_create_fn_ mapprof_create_fn_get_(void)
{
	return MAPPROF_FN_(mapprof_map_create);
}
static MAPPROF_INLINE_ mapprof_grow_fn_ mapprof_grow_fn_get_(int reserve)
{
	return reserve ? MAPPROF_FN_(mapprof_map_reserve) : MAPPROF_FN_(mapprof_map_grow);
}
static MAPPROF_INLINE_ mapprof_destroy_fn_ mapprof_destroy_fn_get_(void)
{
	return MAPPROF_FN_(mapprof_map_destroy);
}
/* An expression: also usable outside functions (a C++ initializer at namespace scope). */
static MAPPROF_INLINE_ int mapprof_dump_or_skip_(void)
{
	mapprof_dump_fn_ f = mapprof_dump_fn_get_();
	return f ? f() : -1;
}

/* The arguments are evaluated only under the shim. */
#define MAPPROF_DUMP() mapprof_dump_or_skip_()
#define MAPPROF_MAP_CREATE(m)                                                                      \
	do {                                                                                       \
		mapprof_create_fn_ mapprof_c_ = mapprof_create_fn_get_();                          \
		if (mapprof_c_)                                                                    \
			mapprof_c_(m);                                                             \
	} while (0)
#define MAPPROF_MAP_GROW_(reserve, m, from, to, elements, bytes, ns)                               \
	do {                                                                                       \
		mapprof_grow_fn_ mapprof_g_ = mapprof_grow_fn_get_(reserve);                       \
		if (mapprof_g_)                                                                    \
			mapprof_g_(m, from, to, elements, bytes, ns);                              \
	} while (0)
#define MAPPROF_MAP_GROW(m, from, to, elements, bytes, ns)                                         \
	MAPPROF_MAP_GROW_(0, m, from, to, elements, bytes, ns)
#define MAPPROF_MAP_RESERVE(m, from, to, elements, bytes, ns)                                      \
	MAPPROF_MAP_GROW_(1, m, from, to, elements, bytes, ns)
#define MAPPROF_MAP_DESTROY(m, elements)                                                           \
	do {                                                                                       \
		mapprof_destroy_fn_ mapprof_d_ = mapprof_destroy_fn_get_();                        \
		if (mapprof_d_)                                                                    \
			mapprof_d_(m, elements);                                                   \
	} while (0)

#ifdef __cplusplus
}
#endif
#endif
