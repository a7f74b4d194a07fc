/* SPDX-License-Identifier: MIT */
/* Dump stacks to profile stacks: each pc becomes a location in the mapping of the object that
 * holds it, symbolized once per (mapping, address). Shared by the heap and grow builders. */
#ifndef MP_STACKS_H
#define MP_STACKS_H

#include "dump_read.h"
#include "profile.h"
#include "symbolize.h"

typedef struct {
	mp_profile_t *p;
	mp_symbolizer_t *sym;
	mp_htab_t map_index; /* dedup of mappings across processes */
	int *map_obj;	     /* per mapping id - 1: symbolizer object handle */
	size_t cap_map_obj;
	uint64_t *map_bias; /* per mapping id - 1: load bias */
	size_t cap_map_bias;

	/* The dump being converted. */
	const mp_dump_t *d;
	uint64_t *obj_mapping; /* per dump object: mapping id */
	size_t cap_obj_mapping;
	uint32_t *stack_id; /* per dump stack: profile stack + 1, 0 = not converted yet */
	size_t cap_stack_id;
	uint64_t *locs; /* scratch */
	size_t cap_locs;

	/* Function ids by the symbolizer's string pointers, which stay valid and unchanged while
	 * it lives: equal pointers mean equal strings, so this skips hashing the text again. */
	struct mp_stacks_fn *fns;
	size_t nfns, cap_fns;
	mp_htab_t fn_index;
} mp_stacks_t;

void mp_stacks_init(mp_stacks_t *st, mp_profile_t *p, mp_symbolizer_t *sym);
/* Starts converting d's stacks: registers its objects as mappings (the first dump's first
 * object, the main executable, becomes mapping 1). */
void mp_stacks_begin(mp_stacks_t *st, const mp_dump_t *d);
/* The profile stack of dump stack s (converted once per dump). */
uint32_t mp_stacks_get(mp_stacks_t *st, uint32_t s);
void mp_stacks_free(mp_stacks_t *st);

#endif
