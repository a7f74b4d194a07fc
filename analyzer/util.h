/* SPDX-License-Identifier: MIT */
/* Shared small things of the analyzer: exit statuses, checked allocation, a growable array and
 * the string hash. Everything else lives in its own module. */
#ifndef MP_UTIL_H
#define MP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses (STYLE.md "Errors"); functions return these, main exits with them. */
enum mp_status {
	MP_OK = 0,
	MP_EUSAGE = 1, /* bad command line */
	MP_EINPUT = 2, /* a dump is unreadable as a dump, or dumps do not fit together */
	MP_EIO = 3,    /* open/read/write failed, or out of memory */
};

/* Allocation that exits with MP_EIO on failure. The analyzer is an ordinary batch program: when
 * memory runs out there is nothing useful left to do, and unwinding every caller for it would
 * hide the real error paths (bad input, I/O) under noise. The dump parser never asks for more
 * than the bytes it has already checked, so a hostile length cannot reach these. */
void *mp_xmalloc(size_t n);
void *mp_xcalloc(size_t n, size_t size);
void *mp_xrealloc(void *p, size_t n);
char *mp_xstrdup(const char *s);
char *mp_xstrndup(const char *s, size_t n);

/* Grows *arr (of elements of size elem) so that index need-1 is valid; *cap tracks capacity. */
void mp_grow(void **arr, size_t *cap, size_t need, size_t elem);
#define MP_GROW(arr, cap, need) mp_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* a + b, held at the int64 limits: estimates from a hostile (or absurd) dump may not fit. */
static inline int64_t mp_add_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* a + b, held at UINT64_MAX: byte and time sums of absurd inputs (an API map's SIZE_MAX-byte
 * grow) must not wrap below their parts. */
static inline uint64_t mp_add_sat_u64(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* The length (2 to 4) of the well-formed UTF-8 sequence at p, a byte >= 0x80 of a
 * NUL-terminated string; 0 if it starts none (JSON must be UTF-8: paths need not be). */
size_t mp_utf8_len(const unsigned char *p);

/* NULL when s is well-formed UTF-8; else a copy (mp_xmalloc) with each byte that starts no
 * sequence replaced by U+FFFD. A profile's strings must be UTF-8 (profile.proto is proto3:
 * protoc, Python's and Java's decoders refuse the whole profile otherwise); paths and symbols
 * need not be. */
char *mp_utf8_fixed(const char *s);

/* FNV-1a, then a final mix: stable across runs, so table iteration never leaks into output. */
uint64_t mp_hash_bytes(const void *p, size_t n, uint64_t seed);
uint64_t mp_hash_u64(uint64_t x);

/* An open-addressing index: maps a 64-bit hash plus an equality test to a uint32 entry index in
 * the caller's own array. Probing order depends only on hashes, and nothing iterates the table,
 * so it cannot make output order depend on anything but insertion order. */
typedef struct {
	uint32_t *slot; /* entry index + 1; 0 is empty */
	uint64_t *hash;
	size_t cap, n; /* cap is 0 or a power of two */
} mp_htab_t;
typedef int (*mp_htab_eq_fn)(const void *ctx, uint32_t idx);

#define MP_HTAB_NONE UINT32_MAX
/* The index of an entry with hash h for which eq(ctx, index) is true, or MP_HTAB_NONE. */
uint32_t mp_htab_find(const mp_htab_t *t, uint64_t h, mp_htab_eq_fn eq, const void *ctx);
/* Adds index idx under hash h (the caller knows it is absent). */
void mp_htab_insert(mp_htab_t *t, uint64_t h, uint32_t idx);
void mp_htab_free(mp_htab_t *t);

#endif
