// SPDX-License-Identifier: MIT
/* Dump parser: turns the bytes of one dump into an mp_dump_t, refusing anything the format does
 * not allow with the file name and the byte offset. Every length and count is checked against
 * the bytes that remain before anything is allocated from it, so a hostile field can never ask
 * for more memory than the file's own size (this is the fuzzed module: tests/fuzz). Merging dumps
 * and everything after lives elsewhere (inputs.c). */
#include "dump_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Fixed record sizes (bytes) of the array sections, from DUMP_FORMAT.md. */
#define OBJECT_MIN_SIZE (4 * 8 + 4 + 4) /* four u64, two empty strings */
#define STACK_MIN_SIZE	(4 + 8)		/* nframes and one pc */
#define SAMPLE_SIZE	(4 + 4 + 8 * 3)
#define TOTALS_SIZE	(8 * 8)
#define STAT_MIN_SIZE	(4 + 8)
#define GROW_SIZE	(4 + 2 + 2 + 8 * 6)
#define SITE_SIZE	(4 + 2 + 2 + 8 * 14 + 8 * MP_HIST_SIZE_BUCKETS + 8 * MP_HIST_LIFE_BUCKETS)
#define PC_LIVE_SIZE	(8 + 4 + 2 + 2 + 8)
_Static_assert(MP_MIXED_SAMPLE_SIZE == 4 + 8 * 4, "MIXED_SAMPLES entry");

/* A read position inside [0, end) of buf; offsets in messages are absolute file offsets. */
typedef struct {
	const uint8_t *buf;
	size_t pos, end;
	const char *name;
	char *err;
	size_t errlen;
} cur_t;

__attribute__((format(printf, 3, 4))) static int fail(cur_t *c, size_t off, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		int n = snprintf(c->err, c->errlen, "%s: offset %zu: ", c->name, off);
		if (n >= 0 && (size_t)n < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return MP_EINPUT;
}

static size_t left(const cur_t *c)
{
	return c->end - c->pos;
}

/* Checks that n bytes of `what` remain; the message names the offset where they would start. */
static int need(cur_t *c, size_t n, const char *what)
{
	if (left(c) < n)
		return fail(c, c->pos, "truncated %s: needs %zu bytes, %zu left", what, n, left(c));
	return MP_OK;
}

/* Unchecked little-endian loads: callers have called need() for the whole record. */
static uint16_t ld16(cur_t *c)
{
	const uint8_t *p = c->buf + c->pos;
	c->pos += 2;
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ld32(cur_t *c)
{
	const uint8_t *p = c->buf + c->pos;
	c->pos += 4;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(cur_t *c)
{
	uint64_t lo = ld32(c);
	return lo | (uint64_t)ld32(c) << 32;
}

static int rd32(cur_t *c, uint32_t *v, const char *what)
{
	int rc = need(c, 4, what);
	if (rc == MP_OK)
		*v = ld32(c);
	return rc;
}

/* str: u32 length (at most MP_MAX_STRING) and that many bytes, returned as a NUL-terminated
 * copy in *out and its length in *outlen (which may be NULL). */
static int rdstr(cur_t *c, char **out, uint32_t *outlen, const char *what)
{
	size_t at = c->pos;
	uint32_t n;
	int rc = rd32(c, &n, what);
	if (rc != MP_OK)
		return rc;
	if (n > MP_MAX_STRING)
		return fail(c, at, "%s: string length %u exceeds the limit of %u", what, n,
			    MP_MAX_STRING);
	if (left(c) < n)
		return fail(c, at, "%s: string length %u exceeds the %zu bytes left", what, n,
			    left(c));
	*out = mp_xstrndup((const char *)c->buf + c->pos, n);
	if (outlen)
		*outlen = n;
	c->pos += n;
	return MP_OK;
}

/* Reads an array count and checks that count records of at least min bytes can fit. */
static int rdcount(cur_t *c, uint32_t *count, size_t min, const char *what)
{
	size_t at = c->pos;
	int rc = rd32(c, count, what);
	if (rc != MP_OK)
		return rc;
	if ((uint64_t)*count * min > left(c))
		return fail(c, at, "%s: count %u needs at least %llu bytes, %zu left", what, *count,
			    (unsigned long long)*count * min, left(c));
	return MP_OK;
}

static int parse_header(cur_t *c, mp_dump_t *d)
{
	int rc = need(c, 4 * 4 + 8 * 5, "HEADER section");
	if (rc != MP_OK)
		return rc;
	d->pid = ld32(c);
	d->ppid = ld32(c);
	d->seq = ld64(c);
	d->rate = ld64(c);
	d->seed = ld64(c);
	size_t at = c->pos;
	d->depth = ld32(c);
	if (d->depth > MP_MAX_DEPTH)
		return fail(c, at, "HEADER: depth %u exceeds %u", d->depth, MP_MAX_DEPTH);
	d->flags = ld32(c);
	/* Wall-clock times: a dump may come before its start (the clock was set back), but
	 * neither is before 1970 or past 2262 (pprof's int64 nanoseconds). */
	at = c->pos;
	uint64_t start = ld64(c), dump = ld64(c);
	/* i64 fields (DUMP_FORMAT.md): a value past INT64_MAX is a negative time */
	if (start > INT64_MAX)
		return fail(c, at, "HEADER: start time %lld ns is out of range (before 1970)",
			    (long long)(int64_t)start);
	if (dump > INT64_MAX)
		return fail(c, at + 8, "HEADER: dump time %lld ns is out of range (before 1970)",
			    (long long)(int64_t)dump);
	d->start_ns = (int64_t)start;
	d->dump_ns = (int64_t)dump;
	if ((rc = rdstr(c, &d->exe, NULL, "HEADER exe")) != MP_OK)
		return rc;
	return rdstr(c, &d->cmdline, &d->cmdline_len, "HEADER cmdline");
}

/* One OBJECTS (or UNLOADED) entry; what names the section in messages. */
static int parse_object(cur_t *c, mp_dump_object_t *o, uint32_t i, const char *what)
{
	int rc;
	size_t at = c->pos;
	if ((rc = need(c, 32, what)) != MP_OK)
		return rc;
	o->bias = ld64(c);
	o->start = ld64(c);
	o->limit = ld64(c);
	o->offset = ld64(c);
	if (o->limit < o->start)
		return fail(c, at, "%s %u: limit 0x%llx below start 0x%llx", what, i,
			    (unsigned long long)o->limit, (unsigned long long)o->start);
	if ((rc = rdstr(c, &o->path, NULL, what)) != MP_OK)
		return rc;
	return rdstr(c, (char **)&o->build_id, &o->build_id_len, what);
}

static int parse_objects(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nobjects, OBJECT_MIN_SIZE, "OBJECTS");
	if (rc != MP_OK)
		return rc;
	d->objects = mp_xcalloc(d->nobjects, sizeof(*d->objects));
	for (uint32_t i = 0; i < d->nobjects; i++)
		if ((rc = parse_object(c, &d->objects[i], i, "OBJECTS entry")) != MP_OK)
			return rc;
	return MP_OK;
}

static int parse_unloaded(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nunloaded, OBJECT_MIN_SIZE + 4, "UNLOADED");
	if (rc != MP_OK)
		return rc;
	d->unloaded = mp_xcalloc(d->nunloaded, sizeof(*d->unloaded));
	for (uint32_t i = 0; i < d->nunloaded; i++) {
		mp_dump_object_t *o = &d->unloaded[i];
		if ((rc = parse_object(c, o, i, "UNLOADED entry")) != MP_OK)
			return rc;
		size_t at = c->pos;
		if ((rc = rd32(c, &o->unload_epoch, "UNLOADED epoch")) != MP_OK)
			return rc;
		if (o->unload_epoch == 0)
			return fail(c, at, "UNLOADED entry %u: epoch 0 (epochs start at 1)", i);
	}
	return MP_OK;
}

static int parse_stack_keys(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nkeys, 8, "STACK_KEYS");
	if (rc != MP_OK)
		return rc;
	d->keys = mp_xcalloc((size_t)d->nkeys * 2, sizeof(*d->keys));
	for (uint32_t i = 0; i < 2 * d->nkeys; i++)
		d->keys[i] = ld32(c); /* rdcount checked the length */
	return MP_OK;
}

/* Two passes: the first checks every nframes against the bytes left and sums them, so the one
 * allocation for all pcs is bounded by the section's length. */
static int parse_stacks(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nstacks, STACK_MIN_SIZE, "STACKS");
	if (rc != MP_OK)
		return rc;
	size_t first = c->pos;
	uint64_t total = 0;
	for (uint32_t i = 0; i < d->nstacks; i++) {
		size_t at = c->pos;
		uint32_t n;
		if ((rc = rd32(c, &n, "STACKS nframes")) != MP_OK)
			return rc;
		if (n == 0 || n > MP_MAX_DEPTH)
			return fail(c, at, "STACKS: stack %u has %u frames (allowed 1..%u)", i, n,
				    MP_MAX_DEPTH);
		if ((rc = need(c, (size_t)n * 8, "STACKS frames")) != MP_OK)
			return rc;
		c->pos += (size_t)n * 8;
		total += n;
	}
	d->frame_off = mp_xmalloc(((size_t)d->nstacks + 1) * sizeof(*d->frame_off));
	d->pcs = mp_xmalloc(total * sizeof(*d->pcs));
	c->pos = first;
	uint32_t k = 0;
	for (uint32_t i = 0; i < d->nstacks; i++) {
		uint32_t n = ld32(c);
		d->frame_off[i] = k;
		for (uint32_t j = 0; j < n; j++)
			d->pcs[k++] = ld64(c);
	}
	d->frame_off[d->nstacks] = k;
	return MP_OK;
}

static int parse_samples(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nsamples, SAMPLE_SIZE, "SAMPLES");
	if (rc != MP_OK)
		return rc;
	d->samples = mp_xcalloc(d->nsamples, sizeof(*d->samples));
	for (uint32_t i = 0; i < d->nsamples; i++) {
		mp_dump_sample_t *s = &d->samples[i];
		s->stack = ld32(c);
		s->kind = ld32(c);
		s->size = ld64(c);
		s->alloc_count = ld64(c);
		s->inuse_count = ld64(c);
	}
	return MP_OK;
}

static int parse_totals(cur_t *c, mp_dump_t *d)
{
	/* The fields its minor version has: 1.3 appended grow_thread_ns, 1.4 maps_dropped (a
	 * 1.5 payload cut short lost the line that map counts read low, silently). */
	size_t size = TOTALS_SIZE + (d->level >= 3 ? 8 : 0) + (d->level >= 4 ? 8 : 0);
	int rc = need(c, size, "TOTALS section");
	if (rc != MP_OK)
		return rc;
	mp_dump_totals_t *t = &d->totals;
	t->alloc_calls = ld64(c);
	t->free_calls = ld64(c);
	t->alloc_bytes = ld64(c);
	t->sampled = ld64(c);
	t->dropped = ld64(c);
	t->inuse_bytes_est = ld64(c);
	t->peak_inuse_bytes_est = ld64(c);
	t->threads = ld64(c);
	t->grow_thread_ns = left(c) >= 8 ? ld64(c) : 0; /* 1.3 */
	t->maps_dropped = left(c) >= 8 ? ld64(c) : 0;	/* 1.4 */
	return MP_OK;
}

static int parse_allocator(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nstats, STAT_MIN_SIZE, "ALLOCATOR");
	if (rc != MP_OK)
		return rc;
	d->stats = mp_xcalloc(d->nstats, sizeof(*d->stats));
	for (uint32_t i = 0; i < d->nstats; i++) {
		if ((rc = rdstr(c, &d->stats[i].key, NULL, "ALLOCATOR key")) != MP_OK)
			return rc;
		if ((rc = need(c, 8, "ALLOCATOR value")) != MP_OK)
			return rc;
		d->stats[i].value = ld64(c);
	}
	return MP_OK;
}

static int parse_grows(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->ngrows, GROW_SIZE, "MAP_GROWS");
	if (rc != MP_OK)
		return rc;
	d->grows = mp_xcalloc(d->ngrows, sizeof(*d->grows));
	for (uint32_t i = 0; i < d->ngrows; i++) {
		mp_dump_grow_t *g = &d->grows[i];
		g->stack = ld32(c);
		g->kind = ld16(c);
		g->flags = ld16(c);
		g->from_buckets = ld64(c);
		g->to_buckets = ld64(c);
		g->count = ld64(c);
		g->rehashed = ld64(c);
		g->bytes = ld64(c);
		g->ns = ld64(c);
	}
	return MP_OK;
}

/* A MAP_SITES entry's u64 fields, in their order after stack, kind and flags; SF_AT is a
 * field's offset in the entry, SF_HIST_AT the size histogram's (the lifetime one follows). */
enum {
	SF_INSTANCES,
	SF_LIVE,
	SF_MAX_LIVE,
	SF_GROWS,
	SF_MAX_GROWS,
	SF_RESERVED,
	SF_TINY,
	SF_SHARED,
	SF_MAX_THREADS,
	SF_NOEXPAND,
	SF_GROW_BYTES,
	SF_GROW_NS,
	SF_MAX_GROW_NS,
	SF_MAX_SIZE,
	SF_COUNT
};
#define SF_AT(k)   (8 + 8 * (size_t)(k))
#define SF_HIST_AT SF_AT(SF_COUNT)

static int parse_sites(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nsites, SITE_SIZE, "MAP_SITES");
	if (rc != MP_OK)
		return rc;
	d->sites = mp_xcalloc(d->nsites, sizeof(*d->sites));
	for (uint32_t i = 0; i < d->nsites; i++) {
		mp_dump_site_t *s = &d->sites[i];
		s->stack = ld32(c);
		s->kind = ld16(c);
		s->flags = ld16(c);
		uint64_t *f[SF_COUNT] = {[SF_INSTANCES] = &s->instances,
					 [SF_LIVE] = &s->live,
					 [SF_MAX_LIVE] = &s->max_live,
					 [SF_GROWS] = &s->grows,
					 [SF_MAX_GROWS] = &s->max_grows,
					 [SF_RESERVED] = &s->reserved,
					 [SF_TINY] = &s->tiny,
					 [SF_SHARED] = &s->shared,
					 [SF_MAX_THREADS] = &s->max_threads,
					 [SF_NOEXPAND] = &s->noexpand,
					 [SF_GROW_BYTES] = &s->grow_bytes,
					 [SF_GROW_NS] = &s->grow_ns,
					 [SF_MAX_GROW_NS] = &s->max_grow_ns,
					 [SF_MAX_SIZE] = &s->max_size};
		for (size_t k = 0; k < SF_COUNT; k++)
			*f[k] = ld64(c);
		for (int b = 0; b < MP_HIST_SIZE_BUCKETS; b++)
			s->size_hist[b] = ld64(c);
		for (int b = 0; b < MP_HIST_LIFE_BUCKETS; b++)
			s->life_hist[b] = ld64(c);
		s->heap_grow_bytes = s->grow_bytes;
		s->turns = s->shared;
	}
	/* The arrays appended per entry: heap_grow_bytes (1.2), then turns (1.3), each required
	 * from the minor after its own, since shims wrote that minor before they had it (1.2's
	 * MAP_PC_LIVE, 1.3's grow_thread_ns came first). Without them: grow_bytes and shared. */
	size_t more = (size_t)d->nsites * 8 * ((d->level >= 3) + (d->level >= 4));
	if ((rc = need(c, more, "MAP_SITES appended fields")) != MP_OK)
		return rc;
	if (left(c) >= (size_t)d->nsites * 8)
		for (uint32_t i = 0; i < d->nsites; i++) {
			uint64_t v = ld64(c); /* a part of grow_bytes */
			if (v < d->sites[i].grow_bytes)
				d->sites[i].heap_grow_bytes = v;
		}
	if (left(c) >= (size_t)d->nsites * 8)
		for (uint32_t i = 0; i < d->nsites; i++) {
			uint64_t v = ld64(c); /* a part of shared */
			if (v < d->sites[i].shared)
				d->sites[i].turns = v;
		}
	/* 1.7: copies, then lf_lowered; 1.8: late_reserved (parts of instances), optional (none
	 * before) */
	for (int k = 0; k < 3 && left(c) >= (size_t)d->nsites * 8; k++)
		for (uint32_t i = 0; i < d->nsites; i++) {
			mp_dump_site_t *s = &d->sites[i];
			uint64_t v = ld64(c), n = s->instances;
			*(k == 0   ? &s->copies
			  : k == 1 ? &s->lf_lowered
				   : &s->late_reserved) = v <= n ? v : n;
		}
	/* 1.8: late_buckets, held to none where no instance reserved late */
	if (left(c) >= (size_t)d->nsites * 8)
		for (uint32_t i = 0; i < d->nsites; i++) {
			uint64_t v = ld64(c);
			d->sites[i].late_buckets = d->sites[i].late_reserved ? v : 0;
		}
	/* 1.9: moved_out, a part of instances */
	if (left(c) >= (size_t)d->nsites * 8)
		for (uint32_t i = 0; i < d->nsites; i++) {
			uint64_t v = ld64(c);
			d->sites[i].moved_out =
			    v <= d->sites[i].instances ? v : d->sites[i].instances;
		}
	return MP_OK;
}

static int parse_mixed(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->nmixed, MP_MIXED_SAMPLE_SIZE, "MIXED_SAMPLES");
	if (rc != MP_OK)
		return rc;
	d->mixed = mp_xcalloc((size_t)d->nmixed * 5 + 1, sizeof(*d->mixed));
	for (uint32_t i = 0; i < d->nmixed; i++) {
		uint64_t *m = &d->mixed[(size_t)i * 5];
		m[0] = ld32(c);
		for (int k = 1; k < 5; k++)
			m[k] = ld64(c);
	}
	return MP_OK;
}

static int pc_live_cmp(const void *a, const void *b)
{
	const mp_dump_pc_live_t *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

static int parse_pc_live(cur_t *c, mp_dump_t *d)
{
	int rc = rdcount(c, &d->npc_live, PC_LIVE_SIZE, "MAP_PC_LIVE");
	if (rc != MP_OK)
		return rc;
	d->pc_live = mp_xcalloc(d->npc_live, sizeof(*d->pc_live));
	for (uint32_t i = 0; i < d->npc_live; i++) {
		mp_dump_pc_live_t *g = &d->pc_live[i];
		g->pc = ld64(c);
		g->key = ld32(c);
		g->kind = ld16(c);
		(void)ld16(c);
		g->max_live = ld64(c);
	}
	if (d->npc_live)
		qsort(d->pc_live, d->npc_live, sizeof(*d->pc_live), pc_live_cmp);
	return MP_OK;
}

const mp_dump_pc_live_t *mp_dump_pc_live(const mp_dump_t *d, uint16_t kind, uint32_t key,
					 uint64_t pc)
{
	mp_dump_pc_live_t k = {pc, key, kind, 0};
	return d->npc_live ? bsearch(&k, d->pc_live, d->npc_live, sizeof(k), pc_live_cmp) : NULL;
}

static const struct {
	uint32_t type;
	const char *name;
	int (*parse)(cur_t *, mp_dump_t *);
	bool required;
} sections[] = {
    {MP_SEC_HEADER, "HEADER", parse_header, true},
    {MP_SEC_OBJECTS, "OBJECTS", parse_objects, true},
    {MP_SEC_STACKS, "STACKS", parse_stacks, true},
    {MP_SEC_SAMPLES, "SAMPLES", parse_samples, true},
    {MP_SEC_TOTALS, "TOTALS", parse_totals, true},
    {MP_SEC_ALLOCATOR, "ALLOCATOR", parse_allocator, false},
    {MP_SEC_MAP_GROWS, "MAP_GROWS", parse_grows, false},
    {MP_SEC_MAP_SITES, "MAP_SITES", parse_sites, false},
    {MP_SEC_UNLOADED, "UNLOADED", parse_unloaded, false},
    {MP_SEC_STACK_KEYS, "STACK_KEYS", parse_stack_keys, false},
    {MP_SEC_MAP_PC_LIVE, "MAP_PC_LIVE", parse_pc_live, false},
    {MP_SEC_MIXED_SAMPLES, "MIXED_SAMPLES", parse_mixed, false},
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* What the shim's map store keeps by construction (preload/maps.c): each instance is counted
 * once, folded into both histograms once (at its end, or live at the dump), and its flags are
 * parts of the instances; each grow counts at its instance's site, timed at most once, and no
 * instance grew more than max_grows times; more than 4 threads read as 5. A file that breaks
 * it is corrupt, and its figures would read absurd (2^64 - 1 tiny maps of 100). */
static int check_site(cur_t *c, const mp_dump_site_t *s, uint32_t i, size_t at)
{
	static const struct {
		size_t off;
		const char *name;
	} part[] = {{SF_AT(SF_LIVE), "live"},
		    {SF_AT(SF_RESERVED), "reserved"},
		    {SF_AT(SF_TINY), "tiny"},
		    {SF_AT(SF_SHARED), "shared"},
		    {SF_AT(SF_NOEXPAND), "noexpand"}};
	const uint64_t v[] = {s->live, s->reserved, s->tiny, s->shared, s->noexpand};
	uint64_t n = s->instances;
	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
		if (v[k] > n)
			return fail(c, at + part[k].off,
				    "MAP_SITES entry %u: %s %llu exceeds its %llu instances", i,
				    part[k].name, (unsigned long long)v[k], (unsigned long long)n);
	if (s->max_grows > s->grows)
		return fail(c, at + SF_AT(SF_MAX_GROWS),
			    "MAP_SITES entry %u: max_grows %llu exceeds its %llu grows", i,
			    (unsigned long long)s->max_grows, (unsigned long long)s->grows);
	if ((unsigned __int128)s->grows > (unsigned __int128)n * s->max_grows)
		return fail(c, at + SF_AT(SF_GROWS),
			    "MAP_SITES entry %u: %llu grows do not fit %llu instances of at most "
			    "%llu grows each",
			    i, (unsigned long long)s->grows, (unsigned long long)n,
			    (unsigned long long)s->max_grows);
	if (s->max_threads > MP_MAP_MAX_THREADS)
		return fail(c, at + SF_AT(SF_MAX_THREADS),
			    "MAP_SITES entry %u: max_threads %llu (at most %d)", i,
			    (unsigned long long)s->max_threads, MP_MAP_MAX_THREADS);
	if (s->max_grow_ns > s->grow_ns)
		return fail(c, at + SF_AT(SF_MAX_GROW_NS),
			    "MAP_SITES entry %u: max_grow_ns %llu exceeds its grow time %llu ns", i,
			    (unsigned long long)s->max_grow_ns, (unsigned long long)s->grow_ns);
	if ((unsigned __int128)s->grow_ns > (unsigned __int128)s->grows * s->max_grow_ns)
		return fail(c, at + SF_AT(SF_GROW_NS),
			    "MAP_SITES entry %u: grow time %llu ns does not fit %llu grows of at "
			    "most %llu ns",
			    i, (unsigned long long)s->grow_ns, (unsigned long long)s->grows,
			    (unsigned long long)s->max_grow_ns);
	const uint64_t *hist[] = {s->size_hist, s->life_hist};
	const int nb[] = {MP_HIST_SIZE_BUCKETS, MP_HIST_LIFE_BUCKETS};
	for (int h = 0; h < 2; h++) {
		unsigned __int128 sum = 0;
		for (int b = 0; b < nb[h]; b++)
			sum += hist[h][b];
		if (sum != n)
			return fail(
			    c, at + SF_HIST_AT + (h ? 8 * MP_HIST_SIZE_BUCKETS : 0),
			    "MAP_SITES entry %u: %s histogram holds %llu%s instances, not %llu", i,
			    h ? "lifetime" : "size",
			    (unsigned long long)(sum > UINT64_MAX ? UINT64_MAX : sum),
			    sum > UINT64_MAX ? " or more" : "", (unsigned long long)n);
	}
	return MP_OK;
}

/* Stack indices can only be checked once every section is read (sections come in any order);
 * the payload offsets kept here let the message name the offending record. */
static int check_refs(cur_t *c, mp_dump_t *d, const size_t *payload_at)
{
	for (uint32_t i = 0; i < d->nsamples; i++) {
		const mp_dump_sample_t *s = &d->samples[i];
		size_t at = payload_at[3] + 4 + (size_t)i * SAMPLE_SIZE;
		if (s->stack >= d->nstacks)
			return fail(c, at, "SAMPLES entry %u: stack %u out of range (%u stacks)", i,
				    s->stack, d->nstacks);
		/* No allocator hands out more than PTRDIFF_MAX (2^63 - 1) bytes: a flipped top
		 * bit, which made an absurd profile whose sums overflowed in pprof. */
		if (s->size > INT64_MAX)
			return fail(c, at + 8,
				    "SAMPLES entry %u: size %llu exceeds any possible allocation",
				    i, (unsigned long long)s->size);
		if (s->inuse_count > s->alloc_count)
			return fail(c, at + 24,
				    "SAMPLES entry %u: inuse_count %llu exceeds alloc_count %llu",
				    i, (unsigned long long)s->inuse_count,
				    (unsigned long long)s->alloc_count);
	}
	if (payload_at[11] && d->major != MP_DUMP_MAJOR_MIXED) /* the section, even empty */
		return fail(c, payload_at[11] - MP_DUMP_SECTION_HEADER_SIZE,
			    "MIXED_SAMPLES in a %u.x dump (only a 2.x dump has it)", d->major);
	for (uint32_t i = 0; i < d->nmixed; i++) {
		const uint64_t *m = &d->mixed[(size_t)i * 5];
		size_t at = payload_at[11] + 4 + (size_t)i * MP_MIXED_SAMPLE_SIZE;
		if (m[0] >= d->nsamples)
			return fail(c, at,
				    "MIXED_SAMPLES entry %u: sample %llu out of range (%u samples)",
				    i, (unsigned long long)m[0], d->nsamples);
		mp_dump_sample_t *s = &d->samples[m[0]];
		if (s->mixed)
			return fail(c, at, "MIXED_SAMPLES entry %u: sample %llu given twice", i,
				    (unsigned long long)m[0]);
		if (s->size != 0)
			return fail(c, at, "MIXED_SAMPLES entry %u: sample %llu has a size (%llu)",
				    i, (unsigned long long)m[0], (unsigned long long)s->size);
		if (m[3] > m[1] || m[4] > m[2])
			return fail(c, at + (m[3] > m[1] ? 20 : 28),
				    "MIXED_SAMPLES entry %u: more in use than allocated", i);
		/* Each sampled object weighs 1 or more: the sums cover the raw counts. */
		bool all = m[1] >> MP_MIXED_OBJECTS_SHIFT < s->alloc_count;
		if (all || m[3] >> MP_MIXED_OBJECTS_SHIFT < s->inuse_count)
			return fail(c, at + (all ? 4 : 20),
				    "MIXED_SAMPLES entry %u: fewer objects than the sample's %llu "
				    "sampled%s",
				    i, (unsigned long long)(all ? s->alloc_count : s->inuse_count),
				    all ? "" : " in use");
		s->mixed = i + 1;
	}
	/* In a 2.x dump a sample of size 0 is a mixed one (at its rates no 0-byte object is
	 * sampled): without its estimates it would read as nothing. */
	for (uint32_t i = 0; d->major == MP_DUMP_MAJOR_MIXED && i < d->nsamples; i++)
		if (d->samples[i].size == 0 && d->samples[i].alloc_count && !d->samples[i].mixed)
			return fail(c, payload_at[3] + 4 + (size_t)i * SAMPLE_SIZE + 8,
				    "SAMPLES entry %u: size 0 with no MIXED_SAMPLES entry", i);
	for (uint32_t i = 0; i < d->ngrows; i++)
		if (d->grows[i].stack >= d->nstacks)
			return fail(c, payload_at[6] + 4 + (size_t)i * GROW_SIZE,
				    "MAP_GROWS entry %u: stack %u out of range (%u stacks)", i,
				    d->grows[i].stack, d->nstacks);
	for (uint32_t i = 0; i < d->nsites; i++) {
		size_t at = payload_at[7] + 4 + (size_t)i * SITE_SIZE;
		if (d->sites[i].stack >= d->nstacks)
			return fail(c, at, "MAP_SITES entry %u: stack %u out of range (%u stacks)",
				    i, d->sites[i].stack, d->nstacks);
		int rc = check_site(c, &d->sites[i], i, at);
		if (rc != MP_OK)
			return rc;
	}
	/* Every sample point the table recorded counts in TOTALS' sampled as it is inserted. (What
	 * the samples stand for may add up past 2^63: a process of malloc(64 TiB) calls on an
	 * overcommitting kernel; the profile clamps its sums, mp_profile_finish.) */
	unsigned __int128 points = 0;
	for (uint32_t i = 0; i < d->nsamples; i++)
		points += d->samples[i].alloc_count;
	if (points > d->totals.sampled)
		return fail(c, payload_at[4] + 24,
			    "TOTALS: sampled %llu is below the %llu%s sample points of SAMPLES",
			    (unsigned long long)d->totals.sampled,
			    (unsigned long long)(points > UINT64_MAX ? UINT64_MAX : points),
			    points > UINT64_MAX ? " or more" : "");
	for (uint32_t i = 0; i < d->nkeys; i++)
		if (d->keys[2 * i] >= d->nstacks)
			return fail(c, payload_at[9] + 4 + (size_t)i * 8,
				    "STACK_KEYS entry %u: stack %u out of range (%u stacks)", i,
				    d->keys[2 * i], d->nstacks);
	return MP_OK;
}

/* After the checks: the unloaded objects join the loaded ones, the keys go per stack. */
static void settle_unloads(mp_dump_t *d)
{
	if (d->nunloaded) {
		d->objects = mp_xrealloc(d->objects, ((size_t)d->nobjects + d->nunloaded) *
							 sizeof(*d->objects));
		memcpy(d->objects + d->nobjects, d->unloaded, d->nunloaded * sizeof(*d->unloaded));
		d->nobjects += d->nunloaded;
		free(d->unloaded);
		d->unloaded = NULL;
		d->nunloaded = 0;
	}
	if (d->nkeys) {
		d->stack_key = mp_xcalloc(d->nstacks, sizeof(*d->stack_key));
		for (uint32_t i = 0; i < d->nkeys; i++)
			d->stack_key[d->keys[2 * i]] = d->keys[2 * i + 1];
	}
	mp_dump_index_objects(d);
}

int mp_dump_parse(const uint8_t *buf, size_t len, const char *name, mp_dump_t *d, char *err,
		  size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->name = mp_xstrdup(name);
	cur_t c = {.buf = buf, .pos = 0, .end = len, .name = name, .err = err, .errlen = errlen};
	int rc;

	/* A file cut short inside the magic is a truncated dump, not some other file. */
	if (len < MP_DUMP_MAGIC_LEN && len > 0 && memcmp(buf, MP_DUMP_MAGIC, len) == 0)
		return fail(&c, len, "truncated file header (%zu of %u magic bytes)", len,
			    (unsigned)MP_DUMP_MAGIC_LEN);
	if (len < MP_DUMP_MAGIC_LEN || memcmp(buf, MP_DUMP_MAGIC, MP_DUMP_MAGIC_LEN) != 0)
		return fail(&c, 0, "bad magic: not a mapprof dump");
	c.pos = MP_DUMP_MAGIC_LEN;
	if ((rc = need(&c, 8, "file header")) != MP_OK)
		return rc;
	d->major = ld16(&c);
	d->minor = ld16(&c);
	if (d->major != MP_DUMP_MAJOR && d->major != MP_DUMP_MAJOR_MIXED)
		return fail(
		    &c, 8,
		    "format version %u.%u is not supported (this reader reads %u.x and %u.x)",
		    d->major, d->minor, MP_DUMP_MAJOR, MP_DUMP_MAJOR_MIXED);
	d->level = d->major == MP_DUMP_MAJOR ? d->minor : 6u + d->minor; /* 2.0 is 1.6's */
	uint32_t hsize = ld32(&c);
	if (hsize < MP_DUMP_FILE_HEADER_SIZE || hsize > len)
		return fail(&c, 12, "header size %u is impossible (minimum %u, file %zu bytes)",
			    hsize, MP_DUMP_FILE_HEADER_SIZE, len);
	c.pos = hsize;

	size_t payload_at[NSECTIONS] = {0};
	bool seen[NSECTIONS] = {false};
	for (;;) {
		size_t at = c.pos;
		if (left(&c) == 0)
			return fail(&c, at, "no end section: the dump is truncated");
		if ((rc = need(&c, MP_DUMP_SECTION_HEADER_SIZE, "section header")) != MP_OK)
			return rc;
		uint32_t type = ld32(&c);
		(void)ld32(&c); /* reserved: ignored so that a later minor may use it */
		uint64_t plen = ld64(&c);
		if (plen > left(&c))
			return fail(
			    &c, at + 8,
			    "section type %u: payload length %llu exceeds the %zu bytes left", type,
			    (unsigned long long)plen, left(&c));
		if (type == MP_SEC_END) {
			if (plen != 0)
				return fail(&c, at + 8, "end section has payload length %llu",
					    (unsigned long long)plen);
			if (left(&c) != 0)
				return fail(&c, c.pos, "%zu bytes after the end section", left(&c));
			for (size_t i = 0; i < NSECTIONS; i++)
				if (sections[i].required && !seen[i])
					return fail(&c, at, "required section %s is missing",
						    sections[i].name);
			break;
		}
		size_t next = c.pos + (size_t)plen;
		size_t k;
		for (k = 0; k < NSECTIONS && sections[k].type != type; k++)
			;
		if (k == NSECTIONS) { /* unknown: a later minor's section, skipped by length */
			c.pos = next;
			continue;
		}
		if (seen[k])
			return fail(&c, at, "section %s appears twice", sections[k].name);
		seen[k] = true;
		payload_at[k] = c.pos;
		cur_t sub = c;
		sub.end = next;
		if ((rc = sections[k].parse(&sub, d)) != MP_OK)
			return rc;
		/* A longer payload than its fields is allowed: later minors append fields. */
		c.pos = next;
	}
	d->has_allocator = seen[5];
	d->has_grows = seen[6];
	d->has_sites = seen[7];
	if ((rc = check_refs(&c, d, payload_at)) != MP_OK)
		return rc;
	settle_unloads(d);
	return MP_OK;
}

/* Reads the whole file: dumps are read once, front to back, and are at most a few hundred MB. */
static int slurp(const char *path, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return MP_EIO;
	}
	struct stat st;
	size_t cap = 0, len = 0;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		MP_GROW(buf, cap, (size_t)st.st_size + 1); /* +1: the EOF read needs no growth */
	for (;;) {
		if (cap - len < 4096)
			MP_GROW(buf, cap, len + 65536);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return MP_EIO;
		}
		if (n == 0)
			break;
		size_t before = len;
		len += (size_t)n;
		/* Not a dump (/dev/zero, a stream of something else): the parser says so at
		 * offset 0 without reading on until memory runs out. */
		if (before < MP_DUMP_MAGIC_LEN &&
		    memcmp(buf, MP_DUMP_MAGIC, len < MP_DUMP_MAGIC_LEN ? len : MP_DUMP_MAGIC_LEN) !=
			0)
			break;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return MP_OK;
}

int mp_dump_read_file(const char *path, mp_dump_t *d, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	memset(d, 0, sizeof(*d));
	int rc = slurp(path, &buf, &len, err, errlen);
	if (rc != MP_OK)
		return rc;
	if (len == 0) {
		free(buf);
		snprintf(err, errlen, "%s: empty file (no dump)", path);
		return MP_EINPUT;
	}
	rc = mp_dump_parse(buf, len, path, d, err, errlen);
	d->content_hash = mp_hash_bytes(buf, len, 0);
	free(buf);
	return rc;
}

void mp_dump_free(mp_dump_t *d)
{
	free(d->name);
	free(d->exe);
	free(d->cmdline);
	for (uint32_t i = 0; d->objects && i < d->nobjects; i++) {
		free(d->objects[i].path);
		free(d->objects[i].build_id);
	}
	free(d->objects);
	for (uint32_t i = 0; d->unloaded && i < d->nunloaded; i++) {
		free(d->unloaded[i].path);
		free(d->unloaded[i].build_id);
	}
	free(d->unloaded);
	free(d->keys);
	free(d->stack_key);
	free(d->loaded_order);
	free(d->unloaded_order);
	free(d->uranges);
	free(d->frame_off);
	free(d->pcs);
	free(d->samples);
	for (uint32_t i = 0; d->stats && i < d->nstats; i++)
		free(d->stats[i].key);
	free(d->stats);
	free(d->grows);
	free(d->sites);
	free(d->pc_live);
	free(d->mixed);
	memset(d, 0, sizeof(*d));
}
