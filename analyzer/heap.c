// SPDX-License-Identifier: MIT
/* The heap profile, in the shape of Go's (runtime/pprof writeHeapProto): sample types
 * alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes, default
 * inuse_space, period type space/bytes, period = the sampling rate, and a numeric label `bytes`
 * with the object size (none on a sample of many sizes). Bucket arrays of hash maps also carry a
 * string label `map_kind`. Values are unbiased estimates per (stack, size) bucket (estimate.c),
 * or the per-object sums of a sample of many sizes (dump_read.h); object counts are integers
 * rounded with a dither, which keeps them unbiased too. */
#include "builders.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "estimate.h"
#include "stacks.h"

const char *const mp_heap_types[MP_SAMPLE_TYPES][2] = {
    {"alloc_objects", "count"},
    {"alloc_space", "bytes"},
    {"inuse_objects", "count"},
    {"inuse_space", "bytes"},
};

void mp_builders_set_time(mp_profile_t *p, const mp_inputs_t *in)
{
	int64_t start = in->dumps[0].start_ns, end = in->dumps[0].dump_ns;
	for (size_t i = 0; i < in->n; i++) {
		if (in->dumps[i].start_ns < start)
			start = in->dumps[i].start_ns;
		if (in->dumps[i].dump_ns > end)
			end = in->dumps[i].dump_ns;
	}
	p->time_nanos = start;
	p->duration_nanos = end > start ? end - start : 0;
}

void mp_builders_note_skipped(mp_profile_t *p, const mp_inputs_t *in)
{
	if (!in->skipped)
		return;
	char buf[128];
	snprintf(buf, sizeof(buf), "%zu file(s) skipped (--keep-going): not in this profile",
		 in->skipped);
	mp_profile_add_comment(p, buf);
}

void mp_builders_order(const mp_inputs_t *in, uint64_t (*weight)(const mp_dump_t *), size_t *order)
{
	size_t first = 0;
	uint64_t best = 0;
	for (size_t i = 0; i < in->n; i++) {
		uint64_t w = weight(&in->dumps[i]);
		if (w > best) /* ties: the earlier process */
			best = w, first = i;
	}
	order[0] = first;
	for (size_t i = 0, k = 1; i < in->n; i++)
		if (i != first)
			order[k++] = i;
}

/* A sample of many sizes (dump_read.h) carries its estimates in fixed point: objects rounded
 * with the sample's dither (unbiased, and in use never above allocated), bytes to the nearest. */
static void mixed_values(const uint64_t *mix, double u, int64_t v[4])
{
	const double fo = 1.0 / (1 << MP_MIXED_OBJECTS_SHIFT),
		     fb = 1.0 / (1 << MP_MIXED_BYTES_SHIFT);
	double x[4] = {(double)mix[0] * fo, (double)mix[1] * fb, (double)mix[2] * fo,
		       (double)mix[3] * fb};
	for (int k = 0; k < 4; k++) {
		double r = k % 2 == 0 ? floor(x[k] + u) : floor(x[k] + 0.5);
		v[k] = r < 9.2e18 ? (int64_t)r : INT64_MAX;
	}
}

static uint64_t heap_weight(const mp_dump_t *d)
{
	return d->totals.alloc_bytes;
}

static void comment(mp_profile_t *p, const mp_inputs_t *in, const char *what)
{
	char buf[256];
	if (in->rate == 1)
		snprintf(buf, sizeof(buf), "mapprof %s profile: %zu process(es), %s (rate 1)", what,
			 in->n, in->totals.dropped ? "every allocation sampled" : "exact");
	else if (in->rate == 0)
		snprintf(buf, sizeof(buf), "mapprof %s profile: %zu process(es), sampling off",
			 what, in->n);
	else
		snprintf(buf, sizeof(buf),
			 "mapprof %s profile: %zu process(es), sampled estimates at rate %llu",
			 what, in->n, (unsigned long long)in->rate);
	mp_profile_add_comment(p, buf);
	mp_builders_note_skipped(p, in);
	/* Samples the profiler had no memory to record (an address-space limit): not exact,
	 * not unbiased either, and the profile must not claim it. */
	if (in->totals.dropped) {
		snprintf(buf, sizeof(buf),
			 "%llu samples dropped (the profiler had no memory for them): the values "
			 "are lower bounds",
			 (unsigned long long)in->totals.dropped);
		mp_profile_add_comment(p, buf);
	}
}

/* The dither of a sample's object estimates (estimate.h): uniform in [0, 1), a hash of the
 * dump and of the sample's place in it, so that the same dumps give the same profile while
 * different runs round independently. With MAPPROF_SEED given, of the seed and the dump's
 * sequence number only: a rerun with the same seed (same samples) gives the same figures, for
 * A/B comparisons, though its pid and start time differ. */
static double dither(const mp_dump_t *d, uint32_t j, uint64_t size)
{
	uint64_t x = d->seed ^ d->seq * 0xD6E8FEB86659FD93ull;
	if (!(d->flags & MP_HDR_SEED_GIVEN))
		x ^= ((uint64_t)d->pid << 32) ^ (uint64_t)d->start_ns;
	x ^= (uint64_t)j * 0x9E3779B97F4A7C15ull ^ size * 0xC2B2AE3D27D4EB4Full;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (double)(x >> 11) / 9007199254740992.0; /* 53 bits: [0, 1) */
}

void mp_heap_build(mp_profile_t *p, const mp_inputs_t *in, mp_symbolizer_t *sym)
{
	for (int k = 0; k < MP_SAMPLE_TYPES; k++)
		mp_profile_add_type(p, mp_heap_types[k][0], mp_heap_types[k][1]);
	p->default_type = mp_profile_str(p, "inuse_space");
	p->period_type = mp_profile_str(p, "space");
	p->period_unit = mp_profile_str(p, "bytes");
	p->period = (int64_t)in->rate;
	mp_builders_set_time(p, in);
	comment(p, in, "heap");

	int32_t key_bytes = (int32_t)mp_profile_str(p, "bytes");
	int32_t key_kind = (int32_t)mp_profile_str(p, "map_kind");
	mp_stacks_t st;
	mp_stacks_init(&st, p, sym);
	size_t *order = mp_xmalloc((in->n ? in->n : 1) * sizeof(*order));
	mp_builders_order(in, heap_weight, order);
	for (size_t k = 0; k < in->n; k++) {
		const mp_dump_t *d = &in->dumps[order[k]];
		mp_stacks_begin(&st, d);
		for (uint32_t j = 0; j < d->nsamples; j++) {
			const mp_dump_sample_t *s = &d->samples[j];
			if (s->alloc_count == 0 || d->rate == 0)
				continue;
			/* One dither for both counts: in use never reads above allocated. */
			double u = dither(d, j, s->size);
			int64_t v[4] = {
			    mp_estimate_objects(s->alloc_count, s->size, d->rate, u),
			    mp_estimate_bytes(s->alloc_count, s->size, d->rate),
			    mp_estimate_objects(s->inuse_count, s->size, d->rate, u),
			    mp_estimate_bytes(s->inuse_count, s->size, d->rate),
			};
			const uint64_t *mix = mp_dump_sample_mix(d, s);
			if (mix) /* its objects' sizes differ: no `bytes` label */
				mixed_values(mix, u, v);
			mp_label_t l[2] = {
			    {.key = key_bytes,
			     .num = s->size > INT64_MAX ? INT64_MAX : (int64_t)s->size,
			     .num_unit = key_bytes}};
			uint8_t nl = s->mixed ? 0 : 1;
			if (s->kind != MP_KIND_NONE)
				l[nl++] = (mp_label_t){
				    .key = key_kind,
				    .str = (int32_t)mp_profile_str(p, mp_dump_kind_name(s->kind))};
			mp_profile_add_sample(p, mp_stacks_get(&st, s->stack), v, l, nl);
		}
	}
	free(order);
	mp_stacks_free(&st);
	mp_profile_finish(p);
}
