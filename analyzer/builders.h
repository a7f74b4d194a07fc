/* SPDX-License-Identifier: MIT */
/* Profile builders: dumps to the pprof model. heap.c makes Go's heap profile from the sampled
 * allocations, grow.c the map grow profile from the recorded grow events. A later --maps
 * report (issue 6) reads mp_inputs_t's MAP_SITES directly and uses stacks.h the same way. */
#ifndef MP_BUILDERS_H
#define MP_BUILDERS_H

#include "inputs.h"
#include "profile.h"
#include "symbolize.h"

/* Their sample types, in order (names for --sample-index). */
#define MP_SAMPLE_TYPES 4
extern const char *const mp_heap_types[MP_SAMPLE_TYPES][2];
extern const char *const mp_grow_types[MP_SAMPLE_TYPES][2];

void mp_heap_build(mp_profile_t *p, const mp_inputs_t *in, mp_symbolizer_t *sym);
void mp_grow_build(mp_profile_t *p, const mp_inputs_t *in, mp_symbolizer_t *sym);

/* The order a builder takes the processes in: the one with the most `weight` first, then the
 * others as sorted. pprof names a profile after its first mapping ("File:"), the first object of
 * the first process taken: the program whose allocations (or grows) it mostly holds, not a
 * `timeout` or `sh -c` that started it. order has in->n entries. */
void mp_builders_order(const mp_inputs_t *in, uint64_t (*weight)(const mp_dump_t *), size_t *order);

/* Profile time and duration: from the earliest start to the latest dump. */
void mp_builders_set_time(mp_profile_t *p, const mp_inputs_t *in);

/* A comment naming the files --keep-going skipped, if any: the profile lacks what they held,
 * and the warnings that named them went to stderr, not with the profile. */
void mp_builders_note_skipped(mp_profile_t *p, const mp_inputs_t *in);

#endif
