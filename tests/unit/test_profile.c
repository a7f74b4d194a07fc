// SPDX-License-Identifier: MIT
/* Unit tests of the profile path (inputs.c, heap.c, grow.c, profile.c, pprof_out.c): snapshot
 * merging, the shape of Go's heap profile, estimation, labels, the grow profile, and
 * determinism (same dumps in any argument order give the same bytes). Profiles are decoded
 * with the same protobuf-c code after gunzip. Objects are made-up paths, so nothing here
 * depends on the machine's binaries. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "builders.h"
#include "inputs.h"
#include "pprof_out.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "symbolize.h"
#include "util.h"
#include "../tools/dump_writer.h"

#define EXE "/nonexistent/mapprof-unit/app"

/* The next write_dump's in-use and peak in-use estimates, if not 0 (else 2304 x mult). */
static uint64_t next_inuse, next_peak;

/* A dump of process pid: 2 stacks in EXE (bias 0x10000), samples scaled by mult. */
static char *write_dump(uint32_t pid, uint64_t seq, uint64_t rate, uint64_t mult)
{
	mpw_t w = {0};
	mpw_file_header(&w);
	mpw_header(&w, pid, seq, rate, 1000 + pid, 5000 + (int64_t)seq, EXE);
	mpw_begin(&w, MP_SEC_OBJECTS);
	mpw_u32(&w, 1);
	mpw_object(&w, 0x10000, 0x11000, 0x12000, 0x1000, EXE, "\xab\xcd", 2);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_STACKS);
	mpw_u32(&w, 2);
	mpw_u32(&w, 2);
	mpw_u64(&w, 0x11100);
	mpw_u64(&w, 0x11200);
	mpw_u32(&w, 1);
	mpw_u64(&w, 0x11300);
	mpw_end(&w);
	mpw_begin(&w, MP_SEC_SAMPLES);
	mpw_u32(&w, 3);
	mpw_sample(&w, 0, 0, 64, 10 * mult, 4 * mult);
	mpw_sample(&w, 1, MP_KIND_UTHASH, 1024, 2 * mult, 2 * mult);
	mpw_sample(&w, 0, 0, 32, 1 * mult, 0);
	mpw_end(&w);
	uint64_t inuse = next_inuse ? next_inuse : 2304 * mult;
	mpw_totals_peak(&w, 13 * mult, 11 * mult, 2720 * mult, 13 * mult, inuse,
			next_peak ? next_peak : inuse);
	next_inuse = next_peak = 0;
	mpw_begin(&w, MP_SEC_MAP_GROWS);
	mpw_u32(&w, 1);
	mpw_grow(&w, 1, MP_KIND_UNORDERED_MAP, 0, 13, 29, 3 * mult, 40, 232, 900);
	mpw_end(&w);
	mpw_finish(&w);
	char *path = strdup("/tmp/mp-unit-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, w.b, w.n), (ssize_t)w.n);
	close(fd);
	free(w.b);
	return path;
}

/* Builds a profile of paths and returns the encoded bytes (malloc'd) in *out. */
static int run(char **paths, size_t n, int grow, char **out, size_t *outlen)
{
	mp_inputs_t in;
	int rc = mp_inputs_load(&in, paths, n, false, !grow);
	if (rc != MP_OK) {
		mp_inputs_free(&in);
		return rc;
	}
	mp_symbolizer_t *sym = mp_symbolize_new(NULL);
	mp_profile_t p;
	mp_profile_init(&p);
	if (grow)
		mp_grow_build(&p, &in, sym);
	else
		mp_heap_build(&p, &in, sym);
	FILE *f = open_memstream(out, outlen);
	rc = mp_pprof_write(&p, f, "mem");
	fclose(f);
	mp_profile_free(&p);
	mp_symbolize_free(sym);
	mp_inputs_free(&in);
	return rc;
}

/* gunzips into a malloc'd buffer; *n becomes its length. */
static uint8_t *gunzip(const char *gz, size_t *n)
{
	size_t cap = 1 << 20;
	uint8_t *raw = malloc(cap);
	z_stream z = {0};
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)*n;
	z.next_out = raw;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*n = z.total_out;
	inflateEnd(&z);
	return raw;
}

static Perftools__Profiles__Profile *decode(const char *gz, size_t n)
{
	uint8_t *raw = gunzip(gz, &n);
	Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, n, raw);
	free(raw);
	assert_non_null(p);
	return p;
}

static const char *S(const Perftools__Profiles__Profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static const Perftools__Profiles__Label *label(const Perftools__Profiles__Profile *p,
					       const Perftools__Profiles__Sample *s, const char *k)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (strcmp(S(p, s->label[i]->key), k) == 0)
			return s->label[i];
	return NULL;
}

/* The sample with a `bytes` label of `size`. */
static const Perftools__Profiles__Sample *by_size(const Perftools__Profiles__Profile *p,
						  int64_t size)
{
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Label *l = label(p, p->sample[i], "bytes");
		if (l && l->num == size)
			return p->sample[i];
	}
	fail_msg("no sample of size %lld", (long long)size);
	return NULL;
}

static void heap_shape_exact(void **state)
{
	char *paths[1] = {write_dump(1, 0, 1, 1)};
	char *out;
	size_t n;
	assert_int_equal(run(paths, 1, 0, &out, &n), MP_OK);
	/* gzip header: magic, deflate, no flags, mtime 0 */
	assert_int_equal((uint8_t)out[0], 0x1f);
	assert_int_equal((uint8_t)out[1], 0x8b);
	assert_int_equal(out[4] | out[5] | out[6] | out[7], 0);
	Perftools__Profiles__Profile *p = decode(out, n);
	assert_string_equal(p->string_table[0], "");
	const char *types[] = {"alloc_objects", "count", "alloc_space", "bytes",
			       "inuse_objects", "count", "inuse_space", "bytes"};
	assert_int_equal(p->n_sample_type, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(S(p, p->sample_type[i]->type), types[2 * i]);
		assert_string_equal(S(p, p->sample_type[i]->unit), types[2 * i + 1]);
	}
	assert_string_equal(S(p, p->default_sample_type), "inuse_space");
	assert_string_equal(S(p, p->period_type->type), "space");
	assert_string_equal(S(p, p->period_type->unit), "bytes");
	assert_int_equal(p->period, 1);
	assert_int_equal(p->time_nanos, 1001);
	assert_int_equal(p->duration_nanos, 5000 - 1001);
	assert_int_equal(p->n_mapping, 1);
	assert_int_equal(p->mapping[0]->id, 1);
	assert_string_equal(S(p, p->mapping[0]->filename), EXE);
	assert_string_equal(S(p, p->mapping[0]->build_id), "abcd");
	assert_int_equal(p->mapping[0]->memory_start, 0x11000);
	/* the file does not exist: marked symbolized all the same, so that pprof does not name
	 * its frames after another build found at its path later */
	assert_true(p->mapping[0]->has_functions);
	assert_false(p->mapping[0]->has_line_numbers);
	/* return addresses become pc - 1, in the mapping */
	assert_int_equal(p->n_location, 3);
	assert_int_equal(p->location[0]->address, 0x110ff);
	assert_int_equal(p->location[0]->mapping_id, 1);
	assert_int_equal(p->location[0]->id, 1);

	const Perftools__Profiles__Sample *s = by_size(p, 64);
	assert_int_equal(s->n_value, 4);
	assert_int_equal(s->value[0], 10);
	assert_int_equal(s->value[1], 640);
	assert_int_equal(s->value[2], 4);
	assert_int_equal(s->value[3], 256);
	assert_int_equal(s->n_location_id, 2);
	assert_string_equal(S(p, label(p, s, "bytes")->num_unit), "bytes");
	assert_null(label(p, s, "map_kind"));
	s = by_size(p, 1024);
	assert_string_equal(S(p, label(p, s, "map_kind")->str), "uthash");
	assert_int_equal(s->value[3], 2048);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(out);
	unlink(paths[0]);
	free(paths[0]);
}

static void heap_estimates(void **state)
{
	char *paths[1] = {write_dump(1, 0, 512, 1)};
	char *out;
	size_t n;
	assert_int_equal(run(paths, 1, 0, &out, &n), MP_OK);
	Perftools__Profiles__Profile *p = decode(out, n);
	assert_int_equal(p->period, 512);
	const Perftools__Profiles__Sample *s = by_size(p, 64);
	double scale = 1.0 / (1.0 - exp(-64.0 / 512.0));
	assert_int_equal(s->value[0], llround(10 * scale));
	assert_int_equal(s->value[1], llround(10 * scale * 64));
	assert_int_equal(s->value[2], llround(4 * scale));
	s = by_size(p, 1024); /* s = 2R: scale 1.156 */
	assert_int_equal(s->value[0], llround(2 / (1.0 - exp(-2.0))));
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(out);
	unlink(paths[0]);
	free(paths[0]);
}

/* pid 1 seq 0 and seq 1 are snapshots (latest wins); pid 2 is another process (summed). */
static void snapshots_and_processes(void **state)
{
	char *paths[3] = {write_dump(1, 1, 1, 3), write_dump(1, 0, 1, 1), write_dump(2, 0, 1, 5)};
	char *out;
	size_t n;
	assert_int_equal(run(paths, 3, 0, &out, &n), MP_OK);
	Perftools__Profiles__Profile *p = decode(out, n);
	/* the same binary at the same addresses: one mapping, samples merged */
	assert_int_equal(p->n_mapping, 1);
	const Perftools__Profiles__Sample *s = by_size(p, 64);
	assert_int_equal(s->value[0], 10 * 3 + 10 * 5);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(out);
	for (int i = 0; i < 3; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
}

static void mixed_rates_refused(void **state)
{
	char *paths[2] = {write_dump(1, 0, 512, 1), write_dump(2, 0, 1, 1)};
	char *out = NULL;
	size_t n;
	assert_int_equal(run(paths, 2, 0, &out, &n), MP_EINPUT);
	/* the grow profile is not sampled: any rates go together */
	assert_int_equal(run(paths, 2, 1, &out, &n), MP_OK);
	free(out);
	for (int i = 0; i < 2; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
}

/* A peak estimate above every byte its process allocated (sampling noise: QA saw 1.10x) is
 * no heap's: each process's counts at most its allocated bytes in the merged totals, but never
 * less than its in-use estimate (one sampled object outweighs a small heap). */
static void peak_at_most_allocated(void **state)
{
	(void)state;
	next_peak = 5000; /* 2720 bytes allocated, 2304 in use */
	char *paths[3] = {write_dump(1, 0, 512, 1), write_dump(2, 0, 512, 2), NULL};
	next_inuse = 3000; /* above the 2720 allocated */
	next_peak = 3500;
	paths[2] = write_dump(3, 0, 512, 1);
	mp_inputs_t in;
	assert_int_equal(mp_inputs_load(&in, paths, 3, false, true), MP_OK);
	assert_int_equal(in.totals.alloc_bytes, 2720 * 4);
	assert_int_equal(in.totals.inuse_bytes_est, 2304 * 3 + 3000);
	assert_int_equal(in.totals.peak_inuse_bytes_est, 2720 + 2304 * 2 + 3000);
	mp_inputs_free(&in);
	for (int i = 0; i < 3; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
}

static void deterministic(void **state)
{
	char *paths[3] = {write_dump(1, 0, 512, 1), write_dump(2, 0, 512, 2),
			  write_dump(3, 0, 512, 7)};
	char *rev[3] = {paths[2], paths[0], paths[1]};
	char *a, *b, *c;
	size_t na, nb, nc;
	assert_int_equal(run(paths, 3, 0, &a, &na), MP_OK);
	assert_int_equal(run(paths, 3, 0, &b, &nb), MP_OK);
	assert_int_equal(run(rev, 3, 0, &c, &nc), MP_OK);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_int_equal(na, nc);
	assert_memory_equal(a, c, na);
	free(a);
	free(b);
	free(c);
	for (int i = 0; i < 3; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
}

static void grow_profile(void **state)
{
	char *paths[2] = {write_dump(1, 0, 512, 1), write_dump(2, 0, 512, 2)};
	char *out;
	size_t n;
	assert_int_equal(run(paths, 2, 1, &out, &n), MP_OK);
	Perftools__Profiles__Profile *p = decode(out, n);
	const char *types[] = {"grows",	   "count", "grow_bytes", "bytes",
			       "rehashed", "count", "grow_time",  "nanoseconds"};
	assert_int_equal(p->n_sample_type, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(S(p, p->sample_type[i]->type), types[2 * i]);
		assert_string_equal(S(p, p->sample_type[i]->unit), types[2 * i + 1]);
	}
	assert_int_equal(p->n_sample, 1); /* same stack and labels in both processes */
	const Perftools__Profiles__Sample *s = p->sample[0];
	assert_int_equal(s->value[0], 3 + 6);
	assert_int_equal(s->value[1], 464);
	assert_int_equal(s->value[2], 80);
	assert_int_equal(s->value[3], 1800);
	assert_string_equal(S(p, label(p, s, "kind")->str), "unordered_map");
	assert_int_equal(label(p, s, "from_buckets")->num, 13);
	assert_int_equal(label(p, s, "to_buckets")->num, 29);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(out);
	for (int i = 0; i < 2; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
}

/* A profile made through the model's API, with the values an encoder gets wrong: zero (left
 * out), negative and extreme (ten-byte varints), an unsymbolized location, an empty stack. */
static void edge_profile(mp_profile_t *p)
{
	mp_profile_init(p);
	mp_profile_add_type(p, "alloc_objects", "count");
	mp_profile_add_type(p, "alloc_space", "bytes");
	p->default_type = mp_profile_str(p, "alloc_space");
	p->period_type = mp_profile_str(p, "space");
	p->period_unit = mp_profile_str(p, "bytes");
	p->period = 512;
	p->time_nanos = -5;
	mp_profile_add_comment(p, "edge");
	mp_mapping_t m = {.start = 0x1000, .limit = 0x2000, .filename = mp_profile_str(p, "/a")};
	uint64_t map = mp_profile_mapping(p, &m);
	uint64_t f1 = mp_profile_function(p, "f", "_Z1fv", "f.c", 3);
	uint64_t f2 = mp_profile_function(p, "g", "g", "", 0);
	mp_line_t lines[3] = {{f1, 10}, {f2, 0}, {f1, -1}};
	uint64_t l1 = mp_profile_location_add(p, map, 0x1234, lines, 3);
	uint64_t l2 = mp_profile_location_add(p, 0, 0, NULL, 0);
	uint64_t l3 = mp_profile_location_add(p, map, UINT64_MAX, lines, 1);
	uint64_t s1[] = {l1, l2, l3}, s2[] = {l3};
	uint32_t a = mp_profile_stack(p, s1, 3), b = mp_profile_stack(p, s2, 1),
		 e = mp_profile_stack(p, NULL, 0);
	int32_t key = (int32_t)mp_profile_str(p, "bytes"), kind = (int32_t)mp_profile_str(p, "k");
	mp_label_t num = {.key = key, .num = -7, .num_unit = key}, str = {.key = kind, .str = key};
	mp_label_t big = {.key = key, .num = INT64_MIN};
	/* the column's sum just at INT64_MAX: nothing clamped (sums_clamped) */
	int64_t v1[] = {1, 0}, v2[] = {INT64_MAX - 4, -3}, v3[] = {0, 0};
	mp_profile_add_sample(p, b, v1, &num, 1);
	mp_profile_add_sample(p, a, v2, &big, 1);
	mp_profile_add_sample(p, e, v1, NULL, 0);
	mp_label_t two[2] = {num, str};
	mp_profile_add_sample(p, a, v1, two, 2);
	mp_profile_add_sample(p, b, v1, &num, 1); /* merges with the first */
	mp_profile_add_sample(p, a, v3, &num, 1); /* all zero: dropped */
	mp_profile_finish(p);
}

/* p as mp_pprof_write writes it, unzipped (*n bytes; the caller frees it). */
static uint8_t *written(const mp_profile_t *p, size_t *n)
{
	char *out;
	size_t gz;
	FILE *f = open_memstream(&out, &gz);
	assert_int_equal(mp_pprof_write(p, f, "mem"), MP_OK);
	fclose(f);
	*n = gz;
	uint8_t *raw = gunzip(out, n);
	free(out);
	return raw;
}

/* The streamed encoding must be the bytes protobuf-c writes for the same whole message. */
static void encoding_matches_protobuf_c(void **state)
{
	mp_profile_t p;
	edge_profile(&p);
	size_t rawlen;
	uint8_t *raw = written(&p, &rawlen);
	Perftools__Profiles__Profile *d = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	assert_non_null(d);
	size_t want = perftools__profiles__profile__get_packed_size(d);
	uint8_t *again = malloc(want);
	assert_int_equal(perftools__profiles__profile__pack(d, again), want);
	assert_int_equal(rawlen, want);
	assert_memory_equal(raw, again, want);

	/* merged, zero dropped, sorted by stack then labels */
	assert_int_equal(d->n_sample, 4);
	assert_int_equal(d->sample[0]->n_location_id, 3);
	assert_int_equal(d->sample[0]->n_label, 1);
	assert_int_equal(d->sample[0]->value[0], INT64_MAX - 4);
	assert_int_equal(d->sample[1]->n_label, 2);
	assert_int_equal(d->sample[2]->n_location_id, 1);
	assert_int_equal(d->sample[2]->value[0], 2);
	assert_int_equal(d->sample[2]->label[0]->num, -7);
	assert_int_equal(d->sample[3]->n_location_id, 0);
	assert_int_equal(d->n_location, 3);
	assert_int_equal(d->location[0]->n_line, 3);
	assert_int_equal(d->location[1]->n_line, 0);
	perftools__profiles__profile__free_unpacked(d, NULL);
	free(again);
	free(raw);
	mp_profile_free(&p);
}

/* Each column's values sum to at most INT64_MAX (pprof sums them in int64: it showed negative
 * totals), the excess clamped in the profile's order; a sample left all zero is dropped. */
static void sums_clamped(void **state)
{
	(void)state;
	mp_profile_t p;
	mp_profile_init(&p);
	mp_profile_add_type(&p, "alloc_objects", "count");
	mp_profile_add_type(&p, "alloc_space", "bytes");
	mp_mapping_t m = {.start = 0x1000, .limit = 0x2000, .filename = mp_profile_str(&p, "x")};
	uint64_t map = mp_profile_mapping(&p, &m);
	uint32_t st[3];
	for (int i = 0; i < 3; i++) {
		uint64_t loc = mp_profile_location_add(&p, map, 0x1100 + (uint64_t)i, NULL, 0);
		st[i] = mp_profile_stack(&p, &loc, 1);
	}
	int64_t big[2] = {5, INT64_MAX / 2 + 1}, last[2] = {0, INT64_MAX};
	mp_profile_add_sample(&p, st[0], big, NULL, 0);
	mp_profile_add_sample(&p, st[1], big, NULL, 0);
	mp_profile_add_sample(&p, st[2], last, NULL, 0);
	mp_profile_finish(&p);
	assert_int_equal(p.nsamples, 2);
	int64_t objects = 0, bytes = 0;
	for (size_t i = 0; i < p.nsamples; i++) {
		assert_true(p.samples[i].value[1] >= 0);
		objects += p.samples[i].value[0];
		assert_false(__builtin_add_overflow(bytes, p.samples[i].value[1], &bytes));
	}
	assert_int_equal(objects, 10);
	assert_int_equal(bytes, INT64_MAX);
	mp_profile_free(&p);
}

/* A path or a symbol need not be UTF-8; a profile's strings must be (proto3): strict decoders
 * (protoc, Python's, Java's) refuse the whole profile otherwise. */
static void strings_are_utf8(void **state)
{
	(void)state;
	mp_profile_t p;
	mp_profile_init(&p);
	mp_profile_add_type(&p, "alloc_space", "bytes");
	mp_mapping_t m = {.start = 0x1000,
			  .limit = 0x2000,
			  .filename = mp_profile_str(&p, "/tmp/bad\xff"
							 "dir/prog")};
	uint64_t map = mp_profile_mapping(&p, &m);
	uint64_t fn = mp_profile_function(&p, "f\xfe", "f\xfe",
					  "/tmp/bad\xff"
					  "dir/a.c",
					  3);
	mp_line_t line = {fn, 4};
	uint64_t loc = mp_profile_location_add(&p, map, 0x1234, &line, 1);
	uint32_t st = mp_profile_stack(&p, &loc, 1);
	int64_t v = 64;
	mp_profile_add_sample(&p, st, &v, NULL, 0);
	mp_profile_finish(&p);
	size_t n;
	uint8_t *raw = written(&p, &n);
	Perftools__Profiles__Profile *d = perftools__profiles__profile__unpack(NULL, n, raw);
	assert_non_null(d);
	for (size_t i = 0; i < d->n_string_table; i++) {
		for (const unsigned char *c = (const unsigned char *)d->string_table[i]; *c;) {
			size_t len = *c < 0x80 ? 1 : mp_utf8_len(c);
			assert_true(len > 0);
			c += len;
		}
	}
	assert_string_equal(d->string_table[d->mapping[0]->filename], "/tmp/bad\xef\xbf\xbd"
								      "dir/prog");
	assert_string_equal(d->string_table[d->function[0]->name], "f\xef\xbf\xbd");
	perftools__profiles__profile__free_unpacked(d, NULL);
	free(raw);
	mp_profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(heap_shape_exact),
	    cmocka_unit_test(heap_estimates),
	    cmocka_unit_test(snapshots_and_processes),
	    cmocka_unit_test(mixed_rates_refused),
	    cmocka_unit_test(peak_at_most_allocated),
	    cmocka_unit_test(deterministic),
	    cmocka_unit_test(grow_profile),
	    cmocka_unit_test(encoding_matches_protobuf_c),
	    cmocka_unit_test(sums_clamped),
	    cmocka_unit_test(strings_are_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
