/* SPDX-License-Identifier: MIT */
/* The pprof data model in memory (profile.proto's Profile, flattened into arrays): interned
 * strings, functions, mappings, locations with their inline lines, interned stacks of location
 * ids, and samples that merge when stack and labels agree. Building it from dumps is heap.c and
 * grow.c; writing it is pprof_out.c and report_*.c. Ids are 1-based array positions. */
#ifndef MP_PROFILE_H
#define MP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MP_MAX_VALUES 4
#define MP_MAX_LABELS 3

typedef struct {
	int64_t name, system_name, filename, start_line;
} mp_function_t;

typedef struct {
	uint64_t start, limit, offset;
	int64_t filename, build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} mp_mapping_t;

typedef struct {
	uint64_t function_id;
	int64_t line;
} mp_line_t;

typedef struct {
	uint64_t mapping_id, address;
	uint32_t line_off, nlines; /* into mp_profile_t.lines; innermost inlined first */
} mp_location_t;

typedef struct {
	int32_t key, str, num_unit; /* string indices; str 0 for a numeric label */
	int64_t num;
} mp_label_t;

typedef struct {
	uint32_t stack; /* index into stack_off: location ids leaf first */
	uint8_t nlabels;
	mp_label_t label[MP_MAX_LABELS];
	int64_t value[MP_MAX_VALUES];
} mp_sample_t;

typedef struct {
	/* string_table: strings[0] is "" */
	char **strings;
	size_t nstrings, cap_strings;
	mp_htab_t str_index;

	mp_function_t *functions;
	size_t nfunctions, cap_functions;
	mp_htab_t func_index;

	mp_mapping_t *mappings;
	size_t nmappings, cap_mappings;

	mp_location_t *locations;
	size_t nlocations, cap_locations;
	mp_htab_t loc_index;
	mp_line_t *lines;
	size_t nlines, cap_lines;

	/* stack i is stack_locs[stack_off[i] .. stack_off[i + 1]) */
	uint64_t *stack_locs;
	size_t nstack_locs, cap_stack_locs;
	uint32_t *stack_off;
	size_t nstacks, cap_stack_off;
	mp_htab_t stack_index;

	mp_sample_t *samples; /* as added until mp_profile_finish; then merged and sorted */
	size_t nsamples, cap_samples;

	/* Header fields. */
	size_t ntypes;
	int64_t type[MP_MAX_VALUES], unit[MP_MAX_VALUES];
	int64_t default_type, period_type, period_unit, period;
	int64_t time_nanos, duration_nanos;
	int64_t *comments;
	size_t ncomments, cap_comments;
} mp_profile_t;

void mp_profile_init(mp_profile_t *p);
void mp_profile_free(mp_profile_t *p);

/* Interns s; "" is always 0. The index stays valid (and the string alive) until free. */
int64_t mp_profile_str(mp_profile_t *p, const char *s);
static inline const char *mp_profile_strat(const mp_profile_t *p, int64_t i)
{
	return p->strings[i];
}

void mp_profile_add_type(mp_profile_t *p, const char *type, const char *unit);
void mp_profile_add_comment(mp_profile_t *p, const char *text);

uint64_t mp_profile_function(mp_profile_t *p, const char *name, const char *system_name,
			     const char *filename, int64_t start_line);
/* Mappings are not deduplicated here (the caller keys them); returns the new id. */
uint64_t mp_profile_mapping(mp_profile_t *p, const mp_mapping_t *m);

/* The id of the location at (mapping_id, address), or 0 if there is none yet. */
uint64_t mp_profile_location_find(const mp_profile_t *p, uint64_t mapping_id, uint64_t address);
uint64_t mp_profile_location_add(mp_profile_t *p, uint64_t mapping_id, uint64_t address,
				 const mp_line_t *lines, uint32_t nlines);

/* Interns a list of location ids (leaf first); returns the stack index. */
uint32_t mp_profile_stack(mp_profile_t *p, const uint64_t *locs, uint32_t n);
static inline uint32_t mp_profile_stack_len(const mp_profile_t *p, uint32_t s)
{
	return p->stack_off[s + 1] - p->stack_off[s];
}
static inline const uint64_t *mp_profile_stack_locs(const mp_profile_t *p, uint32_t s)
{
	return p->stack_locs + p->stack_off[s];
}

/* Adds values (ntypes of them) for this stack and these labels. Samples with the same stack and
 * labels are summed (saturating, in the order added) by mp_profile_finish. */
void mp_profile_add_sample(mp_profile_t *p, uint32_t stack, const int64_t *values,
			   const mp_label_t *labels, uint8_t nlabels);

/* Merges samples of equal stack and labels and sorts them by stack index, then labels: the
 * order every writer emits. Drops samples whose values are all zero (a dump's fully freed bucket
 * still counts in alloc_* so it stays). Call once, after the last mp_profile_add_sample. */
void mp_profile_finish(mp_profile_t *p);

/* The index of the sample type called name (or a decimal index), or -1. */
int mp_profile_type_index(const mp_profile_t *p, const char *name);

#endif
