// SPDX-License-Identifier: MIT
/* The grow profile (issue 5): one sample per (stack, kind, from, to) with the values grows/count,
 * grow_bytes/bytes, rehashed/count (elements moved) and grow_time/nanoseconds. Grows are every
 * event, not samples, so nothing is scaled and the period is 1. Labels: `kind` (string),
 * `from_buckets` and `to_buckets` (numeric, unit "buckets"). */
#include "builders.h"

#include <stdio.h>
#include <stdlib.h>

#include "stacks.h"

const char *const mp_grow_types[MP_SAMPLE_TYPES][2] = {
    {"grows", "count"},
    {"grow_bytes", "bytes"},
    {"rehashed", "count"},
    {"grow_time", "nanoseconds"},
};

static int64_t sat(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static uint64_t grow_weight(const mp_dump_t *d)
{
	uint64_t n = 0;
	for (uint32_t j = 0; j < d->ngrows; j++)
		n += d->grows[j].count;
	return n;
}

void mp_grow_build(mp_profile_t *p, const mp_inputs_t *in, mp_symbolizer_t *sym)
{
	for (int k = 0; k < MP_SAMPLE_TYPES; k++)
		mp_profile_add_type(p, mp_grow_types[k][0], mp_grow_types[k][1]);
	p->default_type = mp_profile_str(p, "grows");
	p->period_type = mp_profile_str(p, "grows");
	p->period_unit = mp_profile_str(p, "count");
	p->period = 1;
	mp_builders_set_time(p, in);

	size_t without = 0;
	for (size_t i = 0; i < in->n; i++)
		without += !in->dumps[i].has_grows;
	mp_profile_add_comment(p, "mapprof grow profile: every grow event, not sampled");
	mp_builders_note_skipped(p, in);
	if (without == in->n)
		mp_profile_add_comment(p, "no dump has map tracking on (MAPPROF_MAPS=0?)");
	if (in->totals.maps_dropped) {
		char buf[160];
		snprintf(buf, sizeof(buf),
			 "%llu map events not recorded (the profiler had no memory for them): the "
			 "values are lower bounds",
			 (unsigned long long)in->totals.maps_dropped);
		mp_profile_add_comment(p, buf);
	}

	int32_t key_kind = (int32_t)mp_profile_str(p, "kind");
	int32_t key_from = (int32_t)mp_profile_str(p, "from_buckets");
	int32_t key_to = (int32_t)mp_profile_str(p, "to_buckets");
	int32_t unit = (int32_t)mp_profile_str(p, "buckets");
	mp_stacks_t st;
	mp_stacks_init(&st, p, sym);
	size_t *order = mp_xmalloc((in->n ? in->n : 1) * sizeof(*order));
	mp_builders_order(in, grow_weight, order);
	for (size_t k = 0; k < in->n; k++) {
		const mp_dump_t *d = &in->dumps[order[k]];
		mp_stacks_begin(&st, d);
		for (uint32_t j = 0; j < d->ngrows; j++) {
			const mp_dump_grow_t *g = &d->grows[j];
			int64_t v[4] = {sat(g->count), sat(g->bytes), sat(g->rehashed), sat(g->ns)};
			mp_label_t l[3] = {
			    {.key = key_kind,
			     .str = (int32_t)mp_profile_str(p, mp_dump_kind_name(g->kind))},
			    {.key = key_from, .num = sat(g->from_buckets), .num_unit = unit},
			    {.key = key_to, .num = sat(g->to_buckets), .num_unit = unit},
			};
			mp_profile_add_sample(p, mp_stacks_get(&st, g->stack), v, l, 3);
		}
	}
	free(order);
	mp_stacks_free(&st);
	mp_profile_finish(p);
}
