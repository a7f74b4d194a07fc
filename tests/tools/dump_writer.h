/* SPDX-License-Identifier: MIT */
/* A tiny in-memory writer of the dump format (include/mapprof/DUMP_FORMAT.md) for tests: the
 * gendump tool, unit tests and fuzz seeds build dumps with it. Not the shim's writer
 * (preload/dump.c), which must not allocate; this one may. Header-only, all static. */
#ifndef MP_TEST_DUMP_WRITER_H
#define MP_TEST_DUMP_WRITER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapprof/dump_format.h"

typedef struct {
	uint8_t *b;
	size_t n, cap;
	size_t len_at; /* where the open section's payload length goes */
} mpw_t;

static inline void mpw_bytes(mpw_t *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		size_t c = w->cap ? w->cap : 4096;
		while (c < w->n + n)
			c *= 2;
		w->b = realloc(w->b, c);
		if (!w->b)
			abort();
		w->cap = c;
	}
	if (n)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

static inline void mpw_le(mpw_t *w, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	mpw_bytes(w, b, (size_t)bytes);
}

static inline void mpw_u16(mpw_t *w, uint16_t v)
{
	mpw_le(w, v, 2);
}
static inline void mpw_u32(mpw_t *w, uint32_t v)
{
	mpw_le(w, v, 4);
}
static inline void mpw_u64(mpw_t *w, uint64_t v)
{
	mpw_le(w, v, 8);
}
static inline void mpw_strn(mpw_t *w, const void *s, uint32_t n)
{
	mpw_u32(w, n);
	mpw_bytes(w, s, n);
}
static inline void mpw_str(mpw_t *w, const char *s)
{
	mpw_strn(w, s, (uint32_t)strlen(s));
}

static inline void mpw_file_header(mpw_t *w)
{
	mpw_bytes(w, MP_DUMP_MAGIC, MP_DUMP_MAGIC_LEN);
	mpw_u16(w, MP_DUMP_MAJOR);
	mpw_u16(w, MP_DUMP_MINOR);
	mpw_u32(w, MP_DUMP_FILE_HEADER_SIZE);
}

static inline void mpw_begin(mpw_t *w, uint32_t type)
{
	mpw_u32(w, type);
	mpw_u32(w, 0);
	w->len_at = w->n;
	mpw_u64(w, 0);
}

static inline void mpw_end(mpw_t *w)
{
	uint64_t len = w->n - w->len_at - 8;
	for (int i = 0; i < 8; i++)
		w->b[w->len_at + (size_t)i] = (uint8_t)(len >> (8 * i));
}

static inline void mpw_finish(mpw_t *w)
{
	mpw_begin(w, MP_SEC_END);
	mpw_end(w);
}

/* HEADER with the given identity; exe and a one-argument cmdline. */
static inline void mpw_header(mpw_t *w, uint32_t pid, uint64_t seq, uint64_t rate, int64_t start_ns,
			      int64_t dump_ns, const char *exe)
{
	mpw_begin(w, MP_SEC_HEADER);
	mpw_u32(w, pid);
	mpw_u32(w, 1); /* ppid */
	mpw_u64(w, seq);
	mpw_u64(w, rate);
	mpw_u64(w, 42); /* seed */
	mpw_u32(w, 64); /* depth */
	mpw_u32(w, MP_HDR_SEED_GIVEN | MP_HDR_MAPS_ENABLED);
	mpw_u64(w, (uint64_t)start_ns);
	mpw_u64(w, (uint64_t)dump_ns);
	mpw_str(w, exe);
	mpw_strn(w, exe, (uint32_t)strlen(exe) + 1); /* argv[0] and its NUL */
	mpw_end(w);
}

static inline void mpw_object(mpw_t *w, uint64_t bias, uint64_t start, uint64_t limit,
			      uint64_t offset, const char *path, const void *bid, uint32_t bidlen)
{
	mpw_u64(w, bias);
	mpw_u64(w, start);
	mpw_u64(w, limit);
	mpw_u64(w, offset);
	mpw_str(w, path);
	mpw_strn(w, bid, bidlen);
}

static inline void mpw_sample(mpw_t *w, uint32_t stack, uint32_t kind, uint64_t size,
			      uint64_t alloc, uint64_t inuse)
{
	mpw_u32(w, stack);
	mpw_u32(w, kind);
	mpw_u64(w, size);
	mpw_u64(w, alloc);
	mpw_u64(w, inuse);
}

static inline void mpw_totals_peak(mpw_t *w, uint64_t calls, uint64_t frees, uint64_t bytes,
				   uint64_t sampled, uint64_t inuse, uint64_t peak)
{
	mpw_begin(w, MP_SEC_TOTALS);
	mpw_u64(w, calls);
	mpw_u64(w, frees);
	mpw_u64(w, bytes);
	mpw_u64(w, sampled);
	mpw_u64(w, 0); /* dropped */
	mpw_u64(w, inuse);
	mpw_u64(w, peak);
	mpw_u64(w, 1); /* threads */
	mpw_u64(w, 0); /* grow_thread_ns (1.3) */
	mpw_u64(w, 0); /* maps_dropped (1.4) */
	mpw_end(w);
}

static inline void mpw_totals(mpw_t *w, uint64_t calls, uint64_t frees, uint64_t bytes,
			      uint64_t sampled, uint64_t inuse)
{
	mpw_totals_peak(w, calls, frees, bytes, sampled, inuse, inuse);
}

static inline void mpw_grow(mpw_t *w, uint32_t stack, uint16_t kind, uint16_t flags, uint64_t from,
			    uint64_t to, uint64_t count, uint64_t rehashed, uint64_t bytes,
			    uint64_t ns)
{
	mpw_u32(w, stack);
	mpw_u16(w, kind);
	mpw_u16(w, flags);
	mpw_u64(w, from);
	mpw_u64(w, to);
	mpw_u64(w, count);
	mpw_u64(w, rehashed);
	mpw_u64(w, bytes);
	mpw_u64(w, ns);
}

/* One MAP_SITES entry of `base` instances, every counter derived from it and consistent as
 * the shim writes them (the reader checks: parts of the instances, grows within max_grows
 * each, grow time within max_grow_ns each, both histograms holding every instance). */
static inline void mpw_site(mpw_t *w, uint32_t stack, uint16_t kind, uint64_t base)
{
	mpw_u32(w, stack);
	mpw_u16(w, kind);
	mpw_u16(w, 0);
	const uint64_t f[14] = {
	    base,	/* instances */
	    base / 2,	/* live */
	    base,	/* max_live */
	    2 * base,	/* grows */
	    2,		/* max_grows */
	    base / 3,	/* reserved */
	    base / 4,	/* tiny */
	    base / 5,	/* shared */
	    2,		/* max_threads */
	    0,		/* noexpand */
	    base + 10,	/* grow_bytes */
	    200 * base, /* grow_ns */
	    200,	/* max_grow_ns */
	    base + 13,	/* max_size */
	};
	for (int i = 0; i < 14; i++)
		mpw_u64(w, f[i]);
	for (int i = 0; i < MP_HIST_SIZE_BUCKETS + MP_HIST_LIFE_BUCKETS; i++)
		mpw_u64(w, i == 3 || i == MP_HIST_SIZE_BUCKETS + 3 ? base : 0);
}

#endif
