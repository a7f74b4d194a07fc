/* SPDX-License-Identifier: MIT */
/* uthash with mapprof's growth hooks. Use it instead of <uthash.h>, or unchanged code with
 * `-include mapprof/uthash.h` on the compiler command line (a later #include "uthash.h" is then
 * a no-op through uthash's own guard). The hooks call libmapprof.so through weak references:
 * without the shim each costs one NULL test and falls back to malloc/free, so the program runs
 * as before. The options uthash reads once, when uthash.h is included (HASH_BLOOM, HASH_DEBUG,
 * HASH_EMIT_KEYS, HASH_NONFATAL_OOM, NO_DECLTYPE, HASH_NO_STDINT, HASH_DEFINE_OWN_STDINT), must
 * be given on the command line too (-DHASH_BLOOM=n) when this header is force-included, since
 * it includes uthash.h before the source's own #defines (a later one is ignored, silently for
 * most). Macros uthash only defaults (HASH_FUNCTION, uthash_fatal...) may still be defined
 * later (the compiler warns of the redefinition), but not uthash_expand_fyi and
 * uthash_noexpand_fyi: they are mapprof's hooks, and a program's own replaces them (its tables'
 * grows are then not seen). If uthash_malloc/uthash_free are already
 * defined by the program (its own allocator) before this header, they are kept: expansions are
 * still recorded, but table creation and destruction are not. Include this header before
 * uthash.h (or force-include it): after uthash.h it cannot tell a program's hooks from
 * uthash's defaults, and replaces both. A program's own copy of uthash.h needs -I for its
 * directory: <uthash.h> below is not looked for beside the source. Needs uthash 2.1 or later. */
#ifndef MAPPROF_UTHASH_H
#define MAPPROF_UTHASH_H
/* Code that builds with warnings uthash.h never gives it (C++'s -Wold-style-cast: the casts of
 * uthash's macros, expanded through ours, and our own) gets none from here either. */
#if defined(__INCLUDE_LEVEL__) && __INCLUDE_LEVEL__ > 0 /* not when checked on its own */
#pragma GCC system_header
#endif

#include <stddef.h>
#include <stdlib.h>

/* MAPPROF_FN_ (the weak functions' addresses, also in code built without -fpie) and
 * MAPPROF_WEAK_. */
#include "../mapprof.h"

#ifdef __cplusplus
extern "C" {
#endif
/* Implemented by libmapprof.so (preload/maps_uthash.c); call only through the macros below. */
void *mapprof_uthash_malloc(size_t size, size_t table_size) MAPPROF_WEAK_;
void mapprof_uthash_free(void *p, size_t size, size_t table_size, size_t items) MAPPROF_WEAK_;
void mapprof_uthash_expand_fyi(const void *tbl, const void *buckets, size_t num_buckets,
			       size_t items, size_t bucket_bytes, int noexpand) MAPPROF_WEAK_;
void mapprof_uthash_noexpand_fyi(const void *tbl) MAPPROF_WEAK_;
void mapprof_uthash_size(const void *tbl, size_t items) MAPPROF_WEAK_;
#ifdef __cplusplus
}
#endif

/* uthash.h already included: its default hooks are replaced (macros expand at their use). */
#ifdef UTHASH_H
#undef uthash_malloc
#undef uthash_free
#undef uthash_expand_fyi
#undef uthash_noexpand_fyi
#endif
/* Each call site of these hooks in uthash.h names what it allocates in its size expression
 * (sizeof(UT_hash_table), or a count of UT_hash_bucket): the text tells a bucket array from a
 * table, which the size alone cannot (a 4-bucket array is as large as the table). */
#ifndef uthash_malloc
#define uthash_malloc(sz) mapprof_uthash_malloc_((sz), MAPPROF_UTHASH_CLASS_(#sz))
#endif
#ifndef uthash_free
#define uthash_free(ptr, sz) mapprof_uthash_free_((ptr), (sz), MAPPROF_UTHASH_IS_BUCKETS_(#sz))
#endif
/* Folded at compile time where the compiler can (GCC), else a strstr per call (clang -O0). A
 * bucket array (1), the bloom filter's bit vector (2, below) or the table (0). */
#define MAPPROF_UTHASH_IS_BUCKETS_(text) (__builtin_strstr((text), "UT_hash_bucket") != NULL)
#define MAPPROF_UTHASH_CLASS_(text)                                                                \
	(MAPPROF_UTHASH_IS_BUCKETS_(text)				     ? 1                   \
	 : __builtin_strstr((text), "MAPPROF_UTHASH_BLOOM_BYTELEN_") != NULL ? 2                   \
									     : 0)
#ifndef uthash_expand_fyi
#define uthash_expand_fyi(tbl) mapprof_uthash_expand_fyi_(tbl)
#endif
#ifndef uthash_noexpand_fyi
#define uthash_noexpand_fyi(tbl) mapprof_uthash_noexpand_fyi_(tbl)
#endif

#include <uthash.h>

/* table_size 0 tells the shim "a bucket array, no table" (a shim that predates the flag reads
 * it the same way: no block has size 0). The bloom vector is neither: plain malloc. */
static MAPPROF_INLINE_ void *mapprof_uthash_malloc_(size_t sz, int cls)
{
	__typeof__(&mapprof_uthash_malloc) f = MAPPROF_FN_(mapprof_uthash_malloc);
	return f && cls != 2 ? f(sz, cls ? 0 : sizeof(UT_hash_table)) : malloc(sz);
}

/* A block of the table's size that is no bucket array is the table (HASH_CLEAR, HASH_DELETE of
 * the last item): its element count at death is read here. */
static MAPPROF_INLINE_ void mapprof_uthash_free_(void *p, size_t sz, int buckets)
{
	__typeof__(&mapprof_uthash_free) f = MAPPROF_FN_(mapprof_uthash_free);
	if (f) {
		int table = !buckets && sz == sizeof(UT_hash_table) && p;
		f(p, sz, buckets ? 0 : sizeof(UT_hash_table),
		  table ? ((const UT_hash_table *)p)->num_items : 0);
	} else {
		free(p);
	}
}

static MAPPROF_INLINE_ void mapprof_uthash_expand_fyi_(const UT_hash_table *tbl)
{
	__typeof__(&mapprof_uthash_expand_fyi) f = MAPPROF_FN_(mapprof_uthash_expand_fyi);
	if (f)
		f(tbl, tbl->buckets, tbl->num_buckets, tbl->num_items, sizeof(UT_hash_bucket),
		  (int)tbl->noexpand);
}

/* Every add runs HASH_BLOOM_ADD: it is redefined (after uthash.h, so it wins at expansion) to
 * also report the table's size at each of its first 8 items and then every 16th, so that a
 * table emptied item by item before it dies still shows how large it got (within 16). The bloom
 * filter's own work is kept when HASH_BLOOM is on. */
static MAPPROF_INLINE_ void mapprof_uthash_added_(const UT_hash_table *tbl)
{
	unsigned n = tbl->num_items;
	if (n <= 8 || (n & 15) == 0) {
		__typeof__(&mapprof_uthash_size) f = MAPPROF_FN_(mapprof_uthash_size);
		if (f)
			f(tbl, n);
	}
}
#undef HASH_BLOOM_ADD
#ifdef HASH_BLOOM
#define HASH_BLOOM_ADD(tbl, hashv)                                                                 \
	do {                                                                                       \
		HASH_BLOOM_BITSET((tbl)->bloom_bv,                                                 \
				  ((hashv) & (uint32_t)((1UL << (tbl)->bloom_nbits) - 1U)));       \
		mapprof_uthash_added_(tbl);                                                        \
	} while (0)
#else
#define HASH_BLOOM_ADD(tbl, hashv) mapprof_uthash_added_(tbl)
#endif

/* The bloom filter's bit vector (HASH_BLOOM) is no bucket array. It is allocated with the
 * uthash_malloc in force where HASH_BLOOM_MAKE expands, which uthash_free frees it with: ours
 * knows it by the name of its size (MAPPROF_UTHASH_CLASS_) and passes it to malloc; a
 * program's own, defined after this header was force-included, gets it as uthash's would (it
 * got malloc's block before, which its uthash_free was then handed). */
#ifdef HASH_BLOOM
#define MAPPROF_UTHASH_BLOOM_BYTELEN_ HASH_BLOOM_BYTELEN
#undef HASH_BLOOM_MAKE
#define HASH_BLOOM_MAKE(tbl, oomed)                                                                \
	do {                                                                                       \
		(tbl)->bloom_nbits = HASH_BLOOM;                                                   \
		(tbl)->bloom_bv = (uint8_t *)uthash_malloc(MAPPROF_UTHASH_BLOOM_BYTELEN_);         \
		if (!(tbl)->bloom_bv) {                                                            \
			HASH_RECORD_OOM(oomed);                                                    \
		} else {                                                                           \
			uthash_bzero((tbl)->bloom_bv, HASH_BLOOM_BYTELEN);                         \
			(tbl)->bloom_sig = HASH_BLOOM_SIGNATURE;                                   \
		}                                                                                  \
	} while (0)
#endif

static MAPPROF_INLINE_ void mapprof_uthash_noexpand_fyi_(const UT_hash_table *tbl)
{
	__typeof__(&mapprof_uthash_noexpand_fyi) f = MAPPROF_FN_(mapprof_uthash_noexpand_fyi);
	if (f)
		f(tbl);
}

#endif
