// SPDX-License-Identifier: MIT
/* The in-memory pprof model (profile.h): interning tables for strings, functions, locations,
 * stacks and samples. Everything is appended in first-seen order and looked up by hash, so two
 * runs over the same dumps build identical arrays and the writers need no sorting but samples'. */
#include "profile.h"

#include <stdlib.h>
#include <string.h>

void mp_profile_init(mp_profile_t *p)
{
	memset(p, 0, sizeof(*p));
	mp_profile_str(p, "");
	MP_GROW(p->stack_off, p->cap_stack_off, 1);
	p->stack_off[0] = 0;
}

void mp_profile_free(mp_profile_t *p)
{
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	mp_htab_free(&p->str_index);
	free(p->functions);
	mp_htab_free(&p->func_index);
	free(p->mappings);
	free(p->locations);
	mp_htab_free(&p->loc_index);
	free(p->lines);
	free(p->stack_locs);
	free(p->stack_off);
	mp_htab_free(&p->stack_index);
	free(p->samples);
	free(p->comments);
	memset(p, 0, sizeof(*p));
}

/* ---- strings ---- */

typedef struct {
	const mp_profile_t *p;
	const char *s;
} str_key_t;

static int str_eq(const void *ctx, uint32_t i)
{
	const str_key_t *k = ctx;
	return strcmp(k->p->strings[i], k->s) == 0;
}

int64_t mp_profile_str(mp_profile_t *p, const char *s)
{
	if (!s)
		s = "";
	char *fixed = mp_utf8_fixed(s);
	if (fixed) {
		int64_t i = mp_profile_str(p, fixed);
		free(fixed);
		return i;
	}
	size_t len = strlen(s);
	uint64_t h = mp_hash_bytes(s, len, 0);
	str_key_t k = {p, s};
	uint32_t i = mp_htab_find(&p->str_index, h, str_eq, &k);
	if (i != MP_HTAB_NONE)
		return i;
	MP_GROW(p->strings, p->cap_strings, p->nstrings + 1);
	p->strings[p->nstrings] = mp_xstrndup(s, len);
	mp_htab_insert(&p->str_index, h, (uint32_t)p->nstrings);
	return (int64_t)p->nstrings++;
}

void mp_profile_add_type(mp_profile_t *p, const char *type, const char *unit)
{
	if (p->ntypes == MP_MAX_VALUES)
		abort(); /* a programming error: the builders add a fixed set */
	p->type[p->ntypes] = mp_profile_str(p, type);
	p->unit[p->ntypes] = mp_profile_str(p, unit);
	p->ntypes++;
}

void mp_profile_add_comment(mp_profile_t *p, const char *text)
{
	MP_GROW(p->comments, p->cap_comments, p->ncomments + 1);
	p->comments[p->ncomments++] = mp_profile_str(p, text);
}

/* ---- functions ---- */

typedef struct {
	const mp_profile_t *p;
	mp_function_t f;
} func_key_t;

static int func_eq(const void *ctx, uint32_t i)
{
	const func_key_t *k = ctx;
	return memcmp(&k->p->functions[i], &k->f, sizeof(k->f)) == 0;
}

uint64_t mp_profile_function(mp_profile_t *p, const char *name, const char *system_name,
			     const char *filename, int64_t start_line)
{
	func_key_t k = {p,
			{mp_profile_str(p, name), mp_profile_str(p, system_name),
			 mp_profile_str(p, filename), start_line}};
	uint64_t h = mp_hash_bytes(&k.f, sizeof(k.f), 1);
	uint32_t i = mp_htab_find(&p->func_index, h, func_eq, &k);
	if (i != MP_HTAB_NONE)
		return (uint64_t)i + 1;
	MP_GROW(p->functions, p->cap_functions, p->nfunctions + 1);
	p->functions[p->nfunctions] = k.f;
	mp_htab_insert(&p->func_index, h, (uint32_t)p->nfunctions);
	return ++p->nfunctions;
}

uint64_t mp_profile_mapping(mp_profile_t *p, const mp_mapping_t *m)
{
	MP_GROW(p->mappings, p->cap_mappings, p->nmappings + 1);
	p->mappings[p->nmappings] = *m;
	return ++p->nmappings;
}

/* ---- locations ---- */

typedef struct {
	const mp_profile_t *p;
	uint64_t mapping_id, address;
} loc_key_t;

static int loc_eq(const void *ctx, uint32_t i)
{
	const loc_key_t *k = ctx;
	const mp_location_t *l = &k->p->locations[i];
	return l->mapping_id == k->mapping_id && l->address == k->address;
}

static uint64_t loc_hash(uint64_t mapping_id, uint64_t address)
{
	return mp_hash_u64(address * 31 + mapping_id);
}

uint64_t mp_profile_location_find(const mp_profile_t *p, uint64_t mapping_id, uint64_t address)
{
	loc_key_t k = {p, mapping_id, address};
	uint32_t i = mp_htab_find(&p->loc_index, loc_hash(mapping_id, address), loc_eq, &k);
	return i == MP_HTAB_NONE ? 0 : (uint64_t)i + 1;
}

uint64_t mp_profile_location_add(mp_profile_t *p, uint64_t mapping_id, uint64_t address,
				 const mp_line_t *lines, uint32_t nlines)
{
	if (nlines) { /* an unsymbolized location has none, and lines may still be NULL */
		MP_GROW(p->lines, p->cap_lines, p->nlines + nlines);
		memcpy(p->lines + p->nlines, lines, nlines * sizeof(*lines));
	}
	MP_GROW(p->locations, p->cap_locations, p->nlocations + 1);
	p->locations[p->nlocations] =
	    (mp_location_t){mapping_id, address, (uint32_t)p->nlines, nlines};
	p->nlines += nlines;
	mp_htab_insert(&p->loc_index, loc_hash(mapping_id, address), (uint32_t)p->nlocations);
	return ++p->nlocations;
}

/* ---- stacks ---- */

typedef struct {
	const mp_profile_t *p;
	const uint64_t *locs;
	uint32_t n;
} stack_key_t;

static int stack_eq(const void *ctx, uint32_t i)
{
	const stack_key_t *k = ctx;
	return mp_profile_stack_len(k->p, i) == k->n &&
	       (k->n == 0 || /* an empty stack's locs may be NULL */
		memcmp(mp_profile_stack_locs(k->p, i), k->locs, k->n * sizeof(*k->locs)) == 0);
}

uint32_t mp_profile_stack(mp_profile_t *p, const uint64_t *locs, uint32_t n)
{
	uint64_t h = mp_hash_bytes(locs, n * sizeof(*locs), 2);
	stack_key_t k = {p, locs, n};
	uint32_t i = mp_htab_find(&p->stack_index, h, stack_eq, &k);
	if (i != MP_HTAB_NONE)
		return i;
	if (n) {
		MP_GROW(p->stack_locs, p->cap_stack_locs, p->nstack_locs + n);
		memcpy(p->stack_locs + p->nstack_locs, locs, n * sizeof(*locs));
	}
	p->nstack_locs += n;
	MP_GROW(p->stack_off, p->cap_stack_off, p->nstacks + 2);
	p->stack_off[p->nstacks + 1] = (uint32_t)p->nstack_locs;
	mp_htab_insert(&p->stack_index, h, (uint32_t)p->nstacks);
	return (uint32_t)p->nstacks++;
}

/* ---- samples ----
 * Samples are appended as they come and merged in mp_profile_finish, after sorting: the sort
 * is needed for output order anyway, and a hash index over a million samples (probe, compare,
 * insert, rehash) cost more than the sort itself. */

static int labels_cmp(const mp_sample_t *a, const mp_sample_t *b)
{
	if (a->nlabels != b->nlabels)
		return a->nlabels < b->nlabels ? -1 : 1;
	for (int i = 0; i < a->nlabels; i++) {
		const mp_label_t *x = &a->label[i], *y = &b->label[i];
		if (x->key != y->key)
			return x->key < y->key ? -1 : 1;
		if (x->str != y->str)
			return x->str < y->str ? -1 : 1;
		if (x->num != y->num)
			return x->num < y->num ? -1 : 1;
		if (x->num_unit != y->num_unit)
			return x->num_unit < y->num_unit ? -1 : 1;
	}
	return 0;
}

void mp_profile_add_sample(mp_profile_t *p, uint32_t stack, const int64_t *values,
			   const mp_label_t *labels, uint8_t nlabels)
{
	MP_GROW(p->samples, p->cap_samples, p->nsamples + 1);
	mp_sample_t *s = &p->samples[p->nsamples++];
	memset(s, 0, sizeof(*s));
	s->stack = stack;
	s->nlabels = nlabels;
	if (nlabels) /* labels may be NULL then */
		memcpy(s->label, labels, nlabels * sizeof(*labels));
	memcpy(s->value, values, p->ntypes * sizeof(*values));
}

/* Orders positions within one stack's run by labels, then position: a total order, so the
 * result never depends on the sort algorithm, and equal labels stay in insertion order. */
static int run_cmp(const void *a, const void *b, void *ctx)
{
	const mp_sample_t *run = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = labels_cmp(&run[x], &run[y]);
	return c ? c : (x > y) - (x < y);
}

static void sort_run(const mp_sample_t *run, uint32_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	if (n > 16) {
		qsort_r(idx, n, sizeof(*idx), run_cmp, (void *)run);
		return;
	}
	for (size_t i = 1; i < n; i++) { /* short runs, the common case: insertion sort */
		uint32_t v = idx[i];
		size_t j = i;
		for (; j > 0 && run_cmp(&idx[j - 1], &v, (void *)run) > 0; j--)
			idx[j] = idx[j - 1];
		idx[j] = v;
	}
}

void mp_profile_finish(mp_profile_t *p)
{
	/* A stable counting sort by stack, then each stack's run by labels. */
	size_t *start = mp_xcalloc(p->nstacks + 1, sizeof(*start));
	for (size_t i = 0; i < p->nsamples; i++)
		start[p->samples[i].stack + 1]++;
	size_t longest = 0;
	for (size_t k = 0; k < p->nstacks; k++) {
		if (start[k + 1] > longest)
			longest = start[k + 1];
		start[k + 1] += start[k];
	}
	mp_sample_t *by_stack = mp_xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(*by_stack));
	size_t *next = mp_xmalloc((p->nstacks + 1) * sizeof(*next));
	memcpy(next, start, (p->nstacks + 1) * sizeof(*next));
	for (size_t i = 0; i < p->nsamples; i++)
		by_stack[next[p->samples[i].stack]++] = p->samples[i];
	free(next);

	/* Merge equal labels in insertion order (the sums are the same as adding as they came),
	 * then drop samples whose values are all zero. */
	uint32_t *idx = mp_xmalloc((longest ? longest : 1) * sizeof(*idx));
	size_t n = 0;
	/* Each column's values sum to at most INT64_MAX, in this (deterministic) order: pprof
	 * sums them in int64 and showed negative totals past it (centuries of allocation, or a
	 * process of malloc(64 TiB) calls on an overcommitting kernel); the rest is clamped. */
	int64_t total[MP_MAX_VALUES] = {0};
	for (size_t k = 0; k < p->nstacks; k++) {
		const mp_sample_t *run = by_stack + start[k];
		size_t len = start[k + 1] - start[k];
		sort_run(run, idx, len);
		for (size_t i = 0; i < len;) {
			mp_sample_t *out = &p->samples[n];
			*out = run[idx[i]];
			for (i++; i < len && labels_cmp(&run[idx[i]], out) == 0; i++)
				for (size_t v = 0; v < p->ntypes; v++)
					out->value[v] =
					    mp_add_sat(out->value[v], run[idx[i]].value[v]);
			int any = 0;
			for (size_t v = 0; v < p->ntypes; v++) {
				if (out->value[v] > INT64_MAX - total[v])
					out->value[v] = INT64_MAX - total[v];
				total[v] += out->value[v] > 0 ? out->value[v] : 0;
				any |= out->value[v] != 0;
			}
			n += any;
		}
	}
	p->nsamples = n;
	free(idx);
	free(by_stack);
	free(start);
}

int mp_profile_type_index(const mp_profile_t *p, const char *name)
{
	for (size_t i = 0; i < p->ntypes; i++)
		if (strcmp(p->strings[p->type[i]], name) == 0)
			return (int)i;
	char *end;
	long v = strtol(name, &end, 10);
	if (*name && !*end && v >= 0 && (size_t)v < p->ntypes)
		return (int)v;
	return -1;
}
