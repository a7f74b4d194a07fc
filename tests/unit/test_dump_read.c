// SPDX-License-Identifier: MIT
/* Unit tests of analyzer/dump_read.c: a valid dump parses into the right fields, and every kind
 * of bad input (truncation at every offset, bad magic, newer major, impossible counts and
 * lengths, dangling references, random bytes) is refused with MP_EINPUT and a message that
 * names the byte offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dump_read.h"
#include "util.h"
#include "../tools/dump_writer.h"

/* A STACKS section of one stack of one frame. */
static void one_stack(mpw_t *w)
{
	mpw_begin(w, MP_SEC_STACKS);
	mpw_u32(w, 1);
	mpw_u32(w, 1);
	mpw_u64(w, 0x2010);
	mpw_end(w);
}

/* Offsets of interesting places in the dump built by build(). */
typedef struct {
	size_t objects_count, stacks_count, first_nframes, samples_count, first_sample, end_section;
} marks_t;

/* A small complete dump: 2 objects, 3 stacks, 4 samples, totals, allocator, grows, sites. */
static mpw_t build(marks_t *m)
{
	mpw_t w = {0};
	marks_t dummy;
	if (!m)
		m = &dummy;
	mpw_file_header(&w);
	mpw_header(&w, 4242, 3, 512, 1000, 2000, "/bin/app");
	mpw_begin(&w, MP_SEC_OBJECTS);
	m->objects_count = w.n;
	mpw_u32(&w, 2);
	mpw_object(&w, 0x1000, 0x2000, 0x3000, 0x1000, "/bin/app", "\x01\x02\x03", 3);
	mpw_object(&w, 0, 0x9000, 0xa000, 0, "linux-vdso.so.1", "", 0);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_STACKS);
	m->stacks_count = w.n;
	mpw_u32(&w, 3);
	m->first_nframes = w.n;
	mpw_u32(&w, 2);
	mpw_u64(&w, 0x2010);
	mpw_u64(&w, 0x2020);
	mpw_u32(&w, 1);
	mpw_u64(&w, 0x2030);
	mpw_u32(&w, 3);
	mpw_u64(&w, 0x2040);
	mpw_u64(&w, 0x2050);
	mpw_u64(&w, 0x2060);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_SAMPLES);
	m->samples_count = w.n;
	mpw_u32(&w, 4);
	m->first_sample = w.n;
	mpw_sample(&w, 0, 0, 64, 10, 5);
	mpw_sample(&w, 1, 1, 128, 3, 3);
	mpw_sample(&w, 2, 0, 8, 7, 0);
	mpw_sample(&w, 2, 2, 8, 1, 1);
	mpw_end(&w);
	mpw_totals(&w, 100, 50, 6400, 21, 300);
	mpw_begin(&w, MP_SEC_ALLOCATOR);
	mpw_u32(&w, 1);
	mpw_str(&w, "glibc.arena");
	mpw_u64(&w, 4096);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_MAP_GROWS);
	mpw_u32(&w, 1);
	mpw_grow(&w, 1, MP_KIND_UTHASH, 0, 32, 64, 5, 100, 512, 1234);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_MAP_SITES);
	mpw_u32(&w, 1);
	mpw_site(&w, 2, MP_KIND_UNORDERED_MAP, 7);
	mpw_u64(&w, 5);	 /* 1.2: its heap_grow_bytes, appended */
	mpw_u64(&w, 14); /* 1.3: its turns, after those (all of shared, 7 + 7) */
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_MAP_PC_LIVE); /* written unsorted: the reader sorts for lookups */
	mpw_u32(&w, 2);
	const uint64_t pcl[2][4] = {{0x2050, 0, MP_KIND_UNORDERED_MAP, 3}, {0x2040, 0, 2, 5}};
	for (int i = 0; i < 2; i++) {
		mpw_u64(&w, pcl[i][0]);
		mpw_u32(&w, (uint32_t)pcl[i][1]);
		mpw_u16(&w, (uint16_t)pcl[i][2]);
		mpw_u16(&w, 0);
		mpw_u64(&w, pcl[i][3]);
	}
	mpw_end(&w);
	m->end_section = w.n;
	mpw_finish(&w);
	return w;
}

static void put32(mpw_t *w, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		w->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Parses and expects failure whose message names exactly `offset`. */
static void expect_error(const uint8_t *b, size_t n, size_t offset, const char *what)
{
	mp_dump_t d;
	char err[512] = "";
	int rc = mp_dump_parse(b, n, "t.mprof", &d, err, sizeof(err));
	mp_dump_free(&d);
	if (rc != MP_EINPUT)
		fail_msg("accepted (%d), expected an error at offset %zu", rc, offset);
	char want[64];
	snprintf(want, sizeof(want), "t.mprof: offset %zu: ", offset);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, want);
	if (what && !strstr(err, what))
		fail_msg("message '%s' does not mention '%s'", err, what);
}

static void valid_dump(void **state)
{
	mpw_t w = build(NULL);
	mp_dump_t d;
	char err[256] = "";
	assert_int_equal(mp_dump_parse(w.b, w.n, "t", &d, err, sizeof(err)), MP_OK);
	assert_int_equal(d.pid, 4242);
	assert_int_equal(d.seq, 3);
	assert_int_equal(d.rate, 512);
	assert_int_equal(d.start_ns, 1000);
	assert_string_equal(d.exe, "/bin/app");
	assert_int_equal(d.nobjects, 2);
	assert_string_equal(d.objects[0].path, "/bin/app");
	assert_int_equal(d.objects[0].build_id_len, 3);
	assert_int_equal(d.objects[0].bias, 0x1000);
	assert_int_equal(d.nstacks, 3);
	assert_int_equal(mp_dump_stack_len(&d, 0), 2);
	assert_int_equal(mp_dump_stack_len(&d, 2), 3);
	assert_int_equal(mp_dump_stack_pcs(&d, 2)[2], 0x2060);
	assert_int_equal(d.nsamples, 4);
	assert_int_equal(d.samples[1].kind, 1);
	assert_int_equal(d.samples[1].size, 128);
	assert_int_equal(d.totals.alloc_calls, 100);
	assert_true(d.has_allocator && d.has_grows && d.has_sites);
	assert_string_equal(d.stats[0].key, "glibc.arena");
	assert_int_equal(d.grows[0].to_buckets, 64);
	assert_int_equal(d.grows[0].ns, 1234);
	assert_int_equal(d.sites[0].instances, 7);
	assert_int_equal(d.sites[0].max_size, 7 + 13);
	assert_int_equal(d.sites[0].size_hist[3], 7);
	assert_true(d.sites[0].grow_bytes > 5);
	assert_int_equal(d.sites[0].heap_grow_bytes, 5);
	assert_int_equal(d.npc_live, 2);
	assert_int_equal(mp_dump_pc_live(&d, MP_KIND_UNORDERED_MAP, 0, 0x2040)->max_live, 5);
	assert_int_equal(mp_dump_pc_live(&d, MP_KIND_UNORDERED_MAP, 0, 0x2050)->max_live, 3);
	assert_null(mp_dump_pc_live(&d, MP_KIND_UTHASH, 0, 0x2050));
	assert_null(mp_dump_pc_live(&d, MP_KIND_UNORDERED_MAP, 1, 0x2050));
	assert_null(mp_dump_pc_live(&d, MP_KIND_UNORDERED_MAP, 0, 0x2060));
	mp_dump_free(&d);
	free(w.b);
}

/* A dump with one MAP_SITES entry (7 instances, grow_bytes 7 + 10) and `nmore` u64 appended
 * after it, written as minor 1 (1.1) if `minor1`. */
static mpw_t sites_dump(const uint64_t *more, size_t nmore, bool minor1)
{
	mpw_t w = {0};
	mpw_file_header(&w);
	if (minor1)
		w.b[10] = 1;
	mpw_header(&w, 7, 0, 512, 1000, 2000, "/bin/app");
	mpw_begin(&w, MP_SEC_OBJECTS);
	mpw_u32(&w, 0);
	mpw_end(&w);
	one_stack(&w);
	mpw_begin(&w, MP_SEC_SAMPLES);
	mpw_u32(&w, 0);
	mpw_end(&w);
	mpw_totals(&w, 1, 0, 10, 0, 0);
	mpw_begin(&w, MP_SEC_MAP_SITES);
	mpw_u32(&w, 1);
	mpw_site(&w, 0, MP_KIND_UNORDERED_MAP, 7);
	for (size_t i = 0; i < nmore; i++)
		mpw_u64(&w, more[i]);
	mpw_end(&w);
	mpw_finish(&w);
	return w;
}

/* A dump whose MAP_SITES entry has grow_bytes 17 and, if trailer, heap_grow_bytes *trailer
 * appended (1.2, and 1.3's turns); without it, a 1.1 dump. */
static uint64_t heap_of(const uint64_t *trailer)
{
	const uint64_t more[] = {trailer ? *trailer : 0, 14}; /* 14: turns */
	mpw_t w = sites_dump(more, trailer ? 2 : 0, !trailer);
	mp_dump_t d;
	char err[256] = "";
	assert_int_equal(mp_dump_parse(w.b, w.n, "t", &d, err, sizeof(err)), MP_OK);
	assert_int_equal(d.sites[0].grow_bytes, 17);
	uint64_t heap = d.sites[0].heap_grow_bytes;
	mp_dump_free(&d);
	free(w.b);
	return heap;
}

/* A MAP_SITES entry of 7 instances with the 1.7 and 1.8 fields appended: copies, lf_lowered,
 * late_reserved (held to the instances), late_buckets (none where no instance reserved late). */
static void late_fields(uint64_t late, uint64_t buckets, uint64_t want_late, uint64_t want_buckets)
{
	const uint64_t more[] = {5, 14, 2, 3, late, buckets}; /* 1.2, 1.3, 1.7 (2), 1.8 (2) */
	mpw_t w = sites_dump(more, sizeof(more) / sizeof(more[0]), false);
	mp_dump_t d;
	char err[256] = "";
	assert_int_equal(mp_dump_parse(w.b, w.n, "t", &d, err, sizeof(err)), MP_OK);
	assert_int_equal(d.sites[0].copies, 2);
	assert_int_equal(d.sites[0].lf_lowered, 3);
	assert_int_equal(d.sites[0].late_reserved, want_late);
	assert_int_equal(d.sites[0].late_buckets, want_buckets);
	mp_dump_free(&d);
	free(w.b);
}

/* 1.9 appends moved_out (held to the instances); a 1.8 file has none. */
static uint64_t moved_field(const uint64_t *more, size_t n)
{
	mpw_t w = sites_dump(more, n, false);
	mp_dump_t d;
	char err[256] = "";
	assert_int_equal(mp_dump_parse(w.b, w.n, "t", &d, err, sizeof(err)), MP_OK);
	uint64_t v = d.sites[0].moved_out;
	assert_int_equal(d.sites[0].late_reserved, 4);
	mp_dump_free(&d);
	free(w.b);
	return v;
}

static void moved_out(void **state)
{
	(void)state;
	const uint64_t more[] = {5, 14, 2, 3, 4, 80000, 6};
	assert_int_equal(moved_field(more, 7), 6);
	assert_int_equal(moved_field(more, 6), 0);
	const uint64_t over[] = {5, 14, 2, 3, 4, 80000, 99};
	assert_int_equal(moved_field(over, 7), 7);
}

static void late_reserves(void **state)
{
	(void)state;
	late_fields(4, 80000, 4, 80000);
	late_fields(9, 80000, 7, 80000); /* more than the instances: held to them */
	late_fields(0, 123, 0, 0);	 /* buckets without an instance: none */
}

/* Where the section of `type` in a dump built here starts (its 16-byte header: u32 type, u32
 * reserved, u64 payload length), walking the sections from the file header; its payload
 * length in *len. */
static size_t section_at(const mpw_t *w, uint32_t type, uint64_t *len)
{
	for (size_t at = 16; at + 16 <= w->n;) {
		uint64_t n = 0;
		for (int k = 0; k < 8; k++)
			n |= (uint64_t)w->b[at + 8 + k] << (8 * k);
		if (w->b[at] == type) {
			*len = n;
			return at;
		}
		at += 16 + n;
	}
	fail_msg("no section %u", type);
	return 0;
}

/* build()'s dump at minor `minor` with its MAP_SITES payload cut by `cut` bytes (its appended
 * arrays, 8 bytes each for its one entry): parsed, or the error in err. */
static int sites_cut(unsigned minor, size_t cut, char *err, size_t n)
{
	mpw_t full = build(NULL);
	uint64_t len;
	size_t at = section_at(&full, MP_SEC_MAP_SITES, &len);
	mpw_t w = {0};
	mpw_bytes(&w, full.b, at + 8);
	w.b[10] = (uint8_t)minor;
	mpw_le(&w, len - cut, 8);
	mpw_bytes(&w, full.b + at + 16, len - cut);
	size_t after = at + 16 + len;
	mpw_bytes(&w, full.b + after, full.n - after);
	mp_dump_t d;
	int rc = mp_dump_parse(w.b, w.n, "t.mprof", &d, err, n);
	mp_dump_free(&d);
	free(w.b);
	free(full.b);
	return rc;
}

/* A current dump's MAP_SITES cut to 1.1's size lost heap_grow_bytes and turns silently. Each
 * array is required from the minor after the one that added it: shims wrote 1.2 before
 * heap_grow_bytes and 1.3 before turns existed, and their dumps still read. */
static void sites_by_minor(void **state)
{
	char err[256] = "";
	for (unsigned minor = 4; minor <= 5; minor++)
		for (size_t cut = 8; cut <= 16; cut += 8) {
			assert_int_equal(sites_cut(minor, cut, err, sizeof(err)), MP_EINPUT);
			assert_non_null(strstr(err, "MAP_SITES appended"));
		}
	assert_int_equal(sites_cut(3, 16, err, sizeof(err)), MP_EINPUT);
	assert_int_equal(sites_cut(3, 8, err, sizeof(err)), MP_OK);  /* no turns yet */
	assert_int_equal(sites_cut(2, 16, err, sizeof(err)), MP_OK); /* neither yet */
	assert_int_equal(sites_cut(2, 0, err, sizeof(err)), MP_OK);
	(void)state;
}

static void heap_grow_bytes(void **state)
{
	const uint64_t part = 4, over = 99;
	assert_int_equal(heap_of(&part), 4);
	assert_int_equal(heap_of(NULL), 17);  /* 1.1: all of grow_bytes */
	assert_int_equal(heap_of(&over), 17); /* never more than grow_bytes */
}

/* The same with sample 0 of size size0; *at0: sample 0's size field. */
static mpw_t mixed_dump0(uint64_t size0, uint32_t index, uint64_t size, const uint64_t sums[4],
			 bool twice, size_t *at, size_t *at0);

/* A dump whose sample 1 (of 2) is a mixed one (MIXED_SAMPLES, 1.6): entry `index` with the four
 * sums given (a second entry too when twice), sample 1 of size `size`. *at: the entry's offset. */
static mpw_t mixed_dump(uint32_t index, uint64_t size, const uint64_t sums[4], bool twice,
			size_t *at)
{
	return mixed_dump0(64, index, size, sums, twice, at, NULL);
}

static mpw_t mixed_dump0(uint64_t size0, uint32_t index, uint64_t size, const uint64_t sums[4],
			 bool twice, size_t *at, size_t *at0)
{
	mpw_t w = {0};
	mpw_file_header(&w);
	mpw_header(&w, 4242, 0, 4096, 1000, 2000, "/bin/app");
	mpw_begin(&w, MP_SEC_OBJECTS);
	mpw_u32(&w, 0);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_MIXED_SAMPLES); /* before SAMPLES: sections come in any order */
	mpw_u32(&w, twice ? 2 : 1);
	*at = w.n;
	for (int k = 0; k < (twice ? 2 : 1); k++) {
		mpw_u32(&w, index);
		for (int j = 0; j < 4; j++)
			mpw_u64(&w, sums[j]);
	}
	mpw_end(&w);
	one_stack(&w);
	mpw_begin(&w, MP_SEC_SAMPLES);
	mpw_u32(&w, 2);
	if (at0)
		*at0 = w.n + 8;
	mpw_sample(&w, 0, 0, size0, 10, 5);
	mpw_sample(&w, 0, 0, size, 7, 2);
	mpw_end(&w);
	mpw_totals(&w, 100, 50, 6400, 17, 300);
	mpw_finish(&w);
	w.b[8] = MP_DUMP_MAJOR_MIXED; /* 2.x: a dump with MIXED_SAMPLES */
	w.b[10] = MP_DUMP_MINOR_MIXED;
	return w;
}

static void mixed_samples(void **state)
{
	const uint64_t sums[4] = {7u << 16, 5000u << 12, 2u << 16, 1500u << 12};
	size_t at;
	mpw_t w = mixed_dump(1, 0, sums, false, &at);
	mp_dump_t d;
	char err[256] = "";
	assert_int_equal(mp_dump_parse(w.b, w.n, "t.mprof", &d, err, sizeof(err)), MP_OK);
	assert_null(mp_dump_sample_mix(&d, &d.samples[0]));
	const uint64_t *mix = mp_dump_sample_mix(&d, &d.samples[1]);
	assert_non_null(mix);
	assert_memory_equal(mix, sums, sizeof(sums));
	mp_dump_free(&d);
	free(w.b);
	/* An entry past the samples, one given twice, one whose sample has a size, more in use
	 * than allocated: refused at the entry. */
	w = mixed_dump(2, 0, sums, false, &at);
	expect_error(w.b, w.n, at, "out of range");
	free(w.b);
	w = mixed_dump(1, 0, sums, true, &at);
	expect_error(w.b, w.n, at + MP_MIXED_SAMPLE_SIZE, "twice");
	free(w.b);
	w = mixed_dump(1, 24, sums, false, &at);
	expect_error(w.b, w.n, at, "has a size");
	free(w.b);
	const uint64_t over[4] = {1u << 16, 5000u << 12, 2u << 16, 1500u << 12};
	w = mixed_dump(1, 0, over, false, &at);
	expect_error(w.b, w.n, at + 20, "more in use");
	free(w.b);
	const uint64_t over_b[4] = {7u << 16, 5000u << 12, 2u << 16, 6000u << 12};
	w = mixed_dump(1, 0, over_b, false, &at);
	expect_error(w.b, w.n, at + 28, "more in use");
	free(w.b);
	/* Fewer objects than raw samples (each weighs 1 or more), a size-0 sample of a 2.0 dump
	 * without its entry, and the section in a 1.x dump: refused. */
	const uint64_t zero[4] = {0, 0, 0, 0};
	w = mixed_dump(1, 0, zero, false, &at);
	expect_error(w.b, w.n, at + 4, "fewer objects");
	free(w.b);
	const uint64_t few_live[4] = {7u << 16, 5000u << 12, 0, 1500u << 12};
	w = mixed_dump(1, 0, few_live, false, &at);
	expect_error(w.b, w.n, at + 20, "sampled in use");
	free(w.b);
	size_t at0;
	w = mixed_dump0(0, 1, 0, sums, false, &at, &at0);
	expect_error(w.b, w.n, at0, "size 0 with no MIXED_SAMPLES entry");
	free(w.b);
	w = mixed_dump(1, 0, sums, false, &at);
	w.b[8] = MP_DUMP_MAJOR;
	w.b[10] = 6;
	expect_error(w.b, w.n, at - 4 - MP_DUMP_SECTION_HEADER_SIZE, "in a 1.x dump");
	free(w.b);
	(void)state;
}

static void truncated_at_every_offset(void **state)
{
	mpw_t w = build(NULL);
	for (size_t n = 0; n < w.n; n++) {
		mp_dump_t d;
		char err[512] = "";
		int rc = mp_dump_parse(w.b, n, "t.mprof", &d, err, sizeof(err));
		mp_dump_free(&d);
		if (rc != MP_EINPUT)
			fail_msg("truncated at %zu of %zu: accepted", n, w.n);
		size_t off;
		if (sscanf(err, "t.mprof: offset %zu: ", &off) != 1)
			fail_msg("truncated at %zu: message without offset: %s", n, err);
		if (off > n)
			fail_msg("truncated at %zu: offset %zu is past the end: %s", n, off, err);
	}
	free(w.b);
}

static void bad_magic(void **state)
{
	mpw_t w = build(NULL);
	w.b[3] ^= 0x20;
	expect_error(w.b, w.n, 0, "magic");
	expect_error((const uint8_t *)"", 0, 0, "magic");
	free(w.b);
}

static void newer_major(void **state)
{
	mpw_t w = build(NULL);
	w.b[8] = MP_DUMP_MAJOR_MIXED + 1;
	expect_error(w.b, w.n, 8, "version 3.");
	free(w.b);
}

/* build()'s dump with minor version `minor` and a TOTALS payload of `fields` u64: parsed, or
 * the error, in err. */
static int totals_of(unsigned minor, int fields, char *err, size_t n)
{
	mpw_t full = build(NULL);
	uint64_t len;
	size_t at = section_at(&full, MP_SEC_TOTALS, &len);
	mpw_t w = {0};
	mpw_bytes(&w, full.b, at);
	w.b[10] = (uint8_t)minor;
	mpw_begin(&w, MP_SEC_TOTALS);
	for (int i = 0; i < fields; i++)
		mpw_u64(&w, 100 + (uint64_t)i);
	mpw_end(&w);
	mpw_bytes(&w, full.b + at + 16 + len, full.n - at - 16 - len);
	mp_dump_t d;
	int rc = mp_dump_parse(w.b, w.n, "t.mprof", &d, err, n);
	if (rc == MP_OK)
		assert_int_equal(d.totals.maps_dropped, fields >= 10 ? 109 : 0);
	mp_dump_free(&d);
	free(w.b);
	free(full.b);
	return rc;
}

/* TOTALS has the fields of its minor version: 1.3 appended grow_thread_ns, 1.4 maps_dropped. A
 * current dump whose TOTALS was cut to 1.2's size lost its maps_dropped, silently. */
static void totals_by_minor(void **state)
{
	char err[256] = "";
	assert_int_equal(totals_of(5, 10, err, sizeof(err)), MP_OK);
	assert_int_equal(totals_of(4, 10, err, sizeof(err)), MP_OK);
	assert_int_equal(totals_of(3, 9, err, sizeof(err)), MP_OK);
	assert_int_equal(totals_of(2, 8, err, sizeof(err)), MP_OK);
	for (int fields = 8; fields <= 9; fields++) {
		assert_int_equal(totals_of(5, fields, err, sizeof(err)), MP_EINPUT);
		assert_non_null(strstr(err, "truncated TOTALS"));
		assert_int_equal(totals_of(4, fields, err, sizeof(err)), MP_EINPUT);
	}
	assert_int_equal(totals_of(3, 8, err, sizeof(err)), MP_EINPUT);
	(void)state;
}

static void newer_minor_accepted(void **state)
{
	/* a later minor: minor 7, an unknown section, and TOTALS with a field appended */
	mpw_t w = {0};
	mpw_file_header(&w);
	w.b[10] = 7;
	mpw_begin(&w, 99);
	mpw_u64(&w, 12345);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_TOTALS);
	for (int i = 0; i < 11; i++)
		mpw_u64(&w, 100 + (uint64_t)i);
	mpw_end(&w);
	/* the rest of a valid dump, without its TOTALS */
	mpw_t full = build(NULL);
	uint64_t len;
	size_t totals = section_at(&full, MP_SEC_TOTALS, &len);
	mpw_bytes(&w, full.b + 16, totals - 16);
	mpw_bytes(&w, full.b + totals + 16 + len, full.n - totals - 16 - len);
	mp_dump_t d;
	char err[256] = "";
	assert_int_equal(mp_dump_parse(w.b, w.n, "t", &d, err, sizeof(err)), MP_OK);
	assert_int_equal(d.minor, 7);
	assert_int_equal(d.nsamples, 4);
	assert_int_equal(d.totals.alloc_calls, 100);
	assert_int_equal(d.totals.threads, 107);
	mp_dump_free(&d);
	free(w.b);
	free(full.b);
}

static void impossible_counts(void **state)
{
	marks_t m;
	mpw_t w = build(&m);
	put32(&w, m.stacks_count, 0xffffffffu);
	expect_error(w.b, w.n, m.stacks_count, "count 4294967295");
	free(w.b);

	w = build(&m);
	put32(&w, m.samples_count, 0x10000000u);
	expect_error(w.b, w.n, m.samples_count, "SAMPLES");
	free(w.b);

	w = build(&m);
	put32(&w, m.objects_count, 1000);
	expect_error(w.b, w.n, m.objects_count, "OBJECTS");
	free(w.b);
}

static void put64(mpw_t *w, size_t at, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		w->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Where build() put its start and dump times (1000, then 2000). */
static size_t times_at(const mpw_t *w)
{
	static const uint8_t t[16] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0xd0, 0x07, 0, 0, 0, 0, 0, 0};
	for (size_t i = 0; i + sizeof(t) <= w->n; i++)
		if (memcmp(w->b + i, t, sizeof(t)) == 0)
			return i;
	fail_msg("times not found");
	return 0;
}

/* Times past int64 (a flipped top byte) are errors at their offset; a dump written before its
 * start (the wall clock set back) is not. */
static void times_out_of_range(void **state)
{
	(void)state;
	mpw_t w = build(NULL);
	size_t at = times_at(&w);
	put64(&w, at, (uint64_t)1 << 63);
	expect_error(w.b, w.n, at, "start time");
	free(w.b);

	w = build(NULL);
	put64(&w, at + 8, ~(uint64_t)0);
	expect_error(w.b, w.n, at + 8, "dump time");
	free(w.b);

	w = build(NULL);
	put64(&w, at + 8, 500);
	mp_dump_t d;
	char err[256] = "";
	assert_int_equal(mp_dump_parse(w.b, w.n, "t.mprof", &d, err, sizeof(err)), MP_OK);
	assert_true(d.dump_ns == 500 && d.start_ns == 1000);
	mp_dump_free(&d);
	free(w.b);
}

/* MAP_SITES figures that the shim cannot write (parts above the whole, grows past max_grows
 * each, more than 5 threads, time past max_grow_ns each, histograms that miss instances), and
 * sample points beyond TOTALS' sampled: errors at the field, not absurd verdicts (fuzzed). */
static void impossible_sites(void **state)
{
	(void)state;
	static const struct {
		size_t off; /* the field changed; the error names it, or its histogram's start */
		uint64_t v;
		const char *what;
	} bad[] = {
	    {16, 8, "live 8 exceeds its 7 instances"},
	    {56, ~(uint64_t)0, "tiny 18446744073709551615 exceeds"},
	    {80, 8, "noexpand 8 exceeds"},
	    {32, ~(uint64_t)0, "grows do not fit 7 instances of at most 2 grows each"},
	    {40, 15, "max_grows 15 exceeds its 14 grows"},
	    {72, 6, "max_threads 6 (at most 5)"},
	    {96, ~(uint64_t)0, "does not fit 14 grows of at most 200 ns"},
	    {104, 5000, "max_grow_ns 5000 exceeds its grow time 1400 ns"},
	    {120 + 8 * 3, 6, "size histogram holds 6 instances, not 7"},
	    {120 + 8 * MP_HIST_SIZE_BUCKETS + 8 * 5, 1, "lifetime histogram holds 8 instances"},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		mpw_t w = build(NULL);
		uint64_t len;
		size_t entry = section_at(&w, MP_SEC_MAP_SITES, &len) + 16 + 4;
		put64(&w, entry + bad[k].off, bad[k].v);
		size_t hist = 120 + 8 * MP_HIST_SIZE_BUCKETS;
		size_t at = bad[k].off < 120 ? bad[k].off : bad[k].off < hist ? 120 : hist;
		expect_error(w.b, w.n, entry + at, bad[k].what);
		free(w.b);
	}
	mpw_t w = build(NULL);
	uint64_t len;
	size_t sampled = section_at(&w, MP_SEC_TOTALS, &len) + 16 + 24;
	put64(&w, sampled, 1);
	expect_error(w.b, w.n, sampled, "TOTALS: sampled 1 is below the");
	free(w.b);
}

static void impossible_frames(void **state)
{
	marks_t m;
	mpw_t w = build(&m);
	put32(&w, m.first_nframes, 0);
	expect_error(w.b, w.n, m.first_nframes, "0 frames");
	put32(&w, m.first_nframes, MP_MAX_DEPTH + 1);
	expect_error(w.b, w.n, m.first_nframes, "257 frames");
	put32(&w, m.first_nframes, 200); /* allowed, but more than the section holds */
	expect_error(w.b, w.n, m.first_nframes + 4, "truncated STACKS frames");
	free(w.b);
}

static void impossible_lengths(void **state)
{
	/* a string longer than 1 MiB, one longer than the section, a section longer than the
	 * file */
	mpw_t w = {0};
	mpw_file_header(&w);
	mpw_begin(&w, MP_SEC_HEADER);
	mpw_bytes(&w,
		  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
		  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
		  56);
	size_t str_at = w.n;
	mpw_u32(&w, MP_MAX_STRING + 1);
	mpw_end(&w);
	mpw_finish(&w);
	expect_error(w.b, w.n, str_at, "exceeds the limit");
	put32(&w, str_at, 1000);
	expect_error(w.b, w.n, str_at, "exceeds the 0 bytes left");
	free(w.b);

	w = (mpw_t){0};
	mpw_file_header(&w);
	mpw_u32(&w, MP_SEC_HEADER);
	mpw_u32(&w, 0);
	mpw_u64(&w, UINT64_MAX);
	expect_error(w.b, w.n, 16 + 8, "payload length");
	free(w.b);

	w = build(NULL); /* header size field */
	put32(&w, 12, 8);
	expect_error(w.b, w.n, 12, "header size");
	put32(&w, 12, 0x7fffffff);
	expect_error(w.b, w.n, 12, "header size");
	free(w.b);
}

static void dangling_references(void **state)
{
	marks_t m;
	mpw_t w = build(&m);
	put32(&w, m.first_sample + 32, 3); /* sample 1's stack: only 0..2 exist */
	expect_error(w.b, w.n, m.first_sample + 32, "stack 3 out of range");
	free(w.b);

	w = build(&m);
	w.b[m.first_sample + 24] = 11; /* sample 0: inuse 11 > alloc 10 */
	expect_error(w.b, w.n, m.first_sample + 24, "exceeds alloc_count");
	free(w.b);

	w = build(&m);
	w.b[m.first_sample + 15] = 0x80; /* sample 0's size: its top bit flipped */
	expect_error(w.b, w.n, m.first_sample + 8, "exceeds any possible allocation");
	free(w.b);

	/* sizes each possible, 10 x 2^59 + 3 x 2^60 = 2^63 bytes in all: a process can (malloc
	 * of 64 TiB on an overcommitting kernel); the profile clamps the sums (test_profile) */
	w = build(&m);
	w.b[m.first_sample + 15] = 0x08;
	w.b[m.first_sample + 32 + 15] = 0x10;
	mp_dump_t d;
	char err[256];
	assert_int_equal(mp_dump_parse(w.b, w.n, "t.mprof", &d, err, sizeof(err)), MP_OK);
	mp_dump_free(&d);
	free(w.b);
}

static void structure_errors(void **state)
{
	marks_t m;
	mpw_t w = build(&m);
	/* no END: cut exactly before it */
	expect_error(w.b, m.end_section, m.end_section, "no end section");
	/* bytes after END */
	mpw_u32(&w, 0);
	expect_error(w.b, w.n, w.n - 4, "after the end section");
	free(w.b);

	/* a required section missing: a dump of only HEADER and END */
	w = (mpw_t){0};
	mpw_file_header(&w);
	mpw_header(&w, 1, 0, 1, 0, 0, "x");
	size_t end = w.n;
	mpw_finish(&w);
	expect_error(w.b, w.n, end, "OBJECTS is missing");
	free(w.b);

	/* a section twice */
	w = (mpw_t){0};
	mpw_file_header(&w);
	mpw_header(&w, 1, 0, 1, 0, 0, "x");
	size_t second = w.n;
	mpw_header(&w, 1, 0, 1, 0, 0, "x");
	mpw_finish(&w);
	expect_error(w.b, w.n, second, "twice");
	free(w.b);

	/* a short fixed section: TOTALS of 8 bytes */
	w = (mpw_t){0};
	mpw_file_header(&w);
	mpw_begin(&w, MP_SEC_TOTALS);
	size_t at = w.n;
	mpw_u64(&w, 1);
	mpw_end(&w);
	mpw_finish(&w);
	expect_error(w.b, w.n, at, "truncated TOTALS");
	free(w.b);
}

static uint64_t rng = 12345;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random bytes and random mutations of a valid dump: never a crash, and every refusal names an
 * offset inside the input. Fixed seed: the same 20000 inputs every run. */
static void random_inputs(void **state)
{
	mpw_t valid = build(NULL);
	uint8_t *b = malloc(valid.n + 64);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n;
		if (iter % 2) {
			n = next() % (valid.n + 64);
			for (size_t i = 0; i < n; i++)
				b[i] = (uint8_t)next();
			if (n >= 8 && iter % 4 == 1)
				memcpy(b, MP_DUMP_MAGIC, 8);
		} else {
			n = valid.n;
			memcpy(b, valid.b, n);
			int flips = 1 + (int)(next() % 4);
			for (int k = 0; k < flips; k++)
				b[next() % n] = (uint8_t)next();
		}
		mp_dump_t d;
		char err[512] = "";
		int rc = mp_dump_parse(b, n, "r", &d, err, sizeof(err));
		mp_dump_free(&d);
		if (rc == MP_OK)
			continue;
		assert_int_equal(rc, MP_EINPUT);
		size_t off;
		if (sscanf(err, "r: offset %zu: ", &off) != 1 || off > n)
			fail_msg("input %d: bad message: %s", iter, err);
	}
	free(b);
	free(valid.b);
}

static void read_file_errors(void **state)
{
	mp_dump_t d;
	char err[512] = "";
	assert_int_equal(mp_dump_read_file("/nonexistent/x.mprof", &d, err, sizeof(err)), MP_EIO);
	assert_non_null(strstr(err, "/nonexistent/x.mprof: cannot open"));
	mp_dump_free(&d);
	assert_int_equal(mp_dump_read_file("/", &d, err, sizeof(err)), MP_EIO);
	mp_dump_free(&d);
	char path[] = "/tmp/mp-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	mpw_t w = build(NULL);
	assert_int_equal(write(fd, w.b, w.n), (ssize_t)w.n);
	close(fd);
	assert_int_equal(mp_dump_read_file(path, &d, err, sizeof(err)), MP_OK);
	assert_int_equal(d.nsamples, 4);
	mp_dump_free(&d);
	unlink(path);
	free(w.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_dump),
	    cmocka_unit_test(mixed_samples),
	    cmocka_unit_test(heap_grow_bytes),
	    cmocka_unit_test(late_reserves),
	    cmocka_unit_test(moved_out),
	    cmocka_unit_test(impossible_sites),
	    cmocka_unit_test(truncated_at_every_offset),
	    cmocka_unit_test(bad_magic),
	    cmocka_unit_test(newer_major),
	    cmocka_unit_test(newer_minor_accepted),
	    cmocka_unit_test(totals_by_minor),
	    cmocka_unit_test(sites_by_minor),
	    cmocka_unit_test(impossible_counts),
	    cmocka_unit_test(times_out_of_range),
	    cmocka_unit_test(impossible_frames),
	    cmocka_unit_test(impossible_lengths),
	    cmocka_unit_test(dangling_references),
	    cmocka_unit_test(structure_errors),
	    cmocka_unit_test(random_inputs),
	    cmocka_unit_test(read_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
