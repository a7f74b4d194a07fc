// SPDX-License-Identifier: MIT
/* Converting dump stacks into profile locations (see stacks.h). Every pc in a dump is a return
 * address (or, for a frame a signal interrupted, its exact pc + 1): the location's address is
 * pc - 1, inside the call instruction, so that both our symbolization and pprof's own (-list,
 * -disasm) name the line of the call, not the next one. */
#include "stacks.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	const mp_stacks_t *st;
	const mp_mapping_t *m;
} map_key_t;

static int map_eq(const void *ctx, uint32_t i)
{
	const map_key_t *k = ctx;
	const mp_mapping_t *a = &k->st->p->mappings[i], *b = k->m;
	return a->start == b->start && a->limit == b->limit && a->offset == b->offset &&
	       a->filename == b->filename && a->build_id == b->build_id;
}

void mp_stacks_init(mp_stacks_t *st, mp_profile_t *p, mp_symbolizer_t *sym)
{
	memset(st, 0, sizeof(*st));
	st->p = p;
	st->sym = sym;
}

void mp_stacks_free(mp_stacks_t *st)
{
	mp_htab_free(&st->map_index);
	free(st->map_obj);
	free(st->map_bias);
	free(st->obj_mapping);
	free(st->stack_id);
	free(st->locs);
	free(st->fns);
	mp_htab_free(&st->fn_index);
	memset(st, 0, sizeof(*st));
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static uint64_t add_mapping(mp_stacks_t *st, const mp_dump_object_t *o)
{
	mp_profile_t *p = st->p;
	char *bid = mp_xmalloc(2 * (size_t)o->build_id_len + 1);
	hex(bid, o->build_id, o->build_id_len);
	mp_mapping_t m = {
	    .start = o->start,
	    .limit = o->limit,
	    .offset = o->offset,
	    .filename = mp_profile_str(p, o->path),
	    .build_id = mp_profile_str(p, bid),
	};
	free(bid);
	uint64_t h = mp_hash_u64(m.start ^ mp_hash_u64(m.limit ^ mp_hash_u64(m.offset)) ^
				 (uint64_t)m.filename << 20 ^ (uint64_t)m.build_id);
	map_key_t k = {st, &m};
	uint32_t i = mp_htab_find(&st->map_index, h, map_eq, &k);
	if (i != MP_HTAB_NONE)
		return (uint64_t)i + 1;
	int obj = mp_symbolize_object(st->sym, o->path, o->build_id, o->build_id_len);
	/* pprof re-symbolizes a mapping whose has_functions is false, from whatever file is at its
	 * path then: go tool pprof does not check build IDs, and named the frames of a binary
	 * rebuilt since, or missing here and built again later, after the new build's functions.
	 * So every mapping is marked symbolized, as far as it could be here: what the file did not
	 * name keeps its address (run the report again where the right build is). */
	m.has_functions = true;
	m.has_filenames = m.has_line_numbers = m.has_inline_frames =
	    mp_symbolize_has_dwarf(st->sym, obj);
	uint64_t id = mp_profile_mapping(p, &m);
	MP_GROW(st->map_obj, st->cap_map_obj, id);
	MP_GROW(st->map_bias, st->cap_map_bias, id);
	st->map_obj[id - 1] = obj;
	st->map_bias[id - 1] = o->bias;
	mp_htab_insert(&st->map_index, h, (uint32_t)(id - 1));
	return id;
}

void mp_stacks_begin(mp_stacks_t *st, const mp_dump_t *d)
{
	st->d = d;
	MP_GROW(st->obj_mapping, st->cap_obj_mapping, d->nobjects);
	for (uint32_t i = 0; i < d->nobjects; i++)
		st->obj_mapping[i] = add_mapping(st, &d->objects[i]);
	MP_GROW(st->stack_id, st->cap_stack_id, d->nstacks);
	if (d->nstacks) /* none: still NULL (a process that allocated nothing) */
		memset(st->stack_id, 0, d->nstacks * sizeof(*st->stack_id));
}

struct mp_stacks_fn {
	const char *name, *system_name, *file;
	int64_t start_line;
	uint64_t id;
};

typedef struct {
	const mp_stacks_t *st;
	const mp_sym_frame_t *f;
} fn_key_t;

static int fn_eq(const void *ctx, uint32_t i)
{
	const fn_key_t *k = ctx;
	const struct mp_stacks_fn *e = &k->st->fns[i];
	return e->name == k->f->name && e->system_name == k->f->system_name &&
	       e->file == k->f->file && e->start_line == k->f->start_line;
}

static uint64_t function(mp_stacks_t *st, const mp_sym_frame_t *f)
{
	uint64_t h =
	    mp_hash_u64((uintptr_t)f->name ^
			mp_hash_u64((uintptr_t)f->system_name ^
				    mp_hash_u64((uintptr_t)f->file ^ (uint64_t)f->start_line)));
	fn_key_t k = {st, f};
	uint32_t i = mp_htab_find(&st->fn_index, h, fn_eq, &k);
	if (i != MP_HTAB_NONE)
		return st->fns[i].id;
	uint64_t id = mp_profile_function(st->p, f->name, f->system_name, f->file, f->start_line);
	MP_GROW(st->fns, st->cap_fns, st->nfns + 1);
	st->fns[st->nfns] =
	    (struct mp_stacks_fn){f->name, f->system_name, f->file, f->start_line, id};
	mp_htab_insert(&st->fn_index, h, (uint32_t)st->nfns++);
	return id;
}

static uint64_t location(mp_stacks_t *st, uint32_t s, uint64_t pc)
{
	uint64_t addr = pc ? pc - 1 : 0;
	int64_t obj = mp_dump_object_at(st->d, s, pc); /* the loaded one, or one unloaded since */
	uint64_t mapping = obj >= 0 ? st->obj_mapping[obj] : 0;
	uint64_t id = mp_profile_location_find(st->p, mapping, addr);
	if (id)
		return id;
	mp_sym_frame_t f[MP_SYM_MAX_INLINE];
	mp_line_t lines[MP_SYM_MAX_INLINE];
	int n = 0;
	if (mapping) {
		int obj_ = st->map_obj[mapping - 1];
		uint64_t bias = st->map_bias[mapping - 1];
		n = mp_symbolize(st->sym, obj_, addr - bias, f, MP_SYM_MAX_INLINE);
		/* Nothing before it (padding) and a function at it: a return address that no call
		 * made, pushed by makecontext for a context's first frame (glibc's
		 * __start_context). Named by the pc itself, not as a bare address. */
		if (n == 0 && pc)
			n = mp_symbolize(st->sym, obj_, pc - bias, f, MP_SYM_MAX_INLINE);
	}
	/* include/mapprof/uthash.h's hooks are inline functions in the user's code: drop them
	 * from the innermost end of the inline chain, so that the leaf is the user's line that
	 * used the uthash macro, as it is for everything else. */
	int skip = 0;
	while (skip + 1 < n && !strncmp(f[skip].name, "mapprof_uthash_", 15))
		skip++;
	for (int i = skip; i < n; i++) {
		lines[i - skip].function_id = function(st, &f[i]);
		lines[i - skip].line = f[i].line;
	}
	return mp_profile_location_add(st->p, mapping, addr, lines, (uint32_t)(n - skip));
}

/* Whether location loc is all uthash hook: a hook function that was not inlined (-O0). */
static bool hook_only(const mp_stacks_t *st, uint64_t loc)
{
	const mp_profile_t *p = st->p;
	const mp_location_t *l = &p->locations[loc - 1];
	if (l->nlines == 0)
		return false;
	for (uint32_t k = 0; k < l->nlines; k++) {
		const mp_function_t *f = &p->functions[p->lines[l->line_off + k].function_id - 1];
		if (strncmp(p->strings[f->name], "mapprof_uthash_", 15) != 0)
			return false;
	}
	return true;
}

uint32_t mp_stacks_get(mp_stacks_t *st, uint32_t s)
{
	if (st->stack_id[s])
		return st->stack_id[s] - 1;
	uint32_t n = mp_dump_stack_len(st->d, s);
	const uint64_t *pcs = mp_dump_stack_pcs(st->d, s);
	MP_GROW(st->locs, st->cap_locs, n);
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		st->locs[k] = location(st, s, pcs[i]);
		/* The uthash hooks as frames of their own (not inlined): dropped at the leaf end
		 * too, as location() drops them from an inline chain. */
		if (!(k == 0 && i + 1 < n && hook_only(st, st->locs[k])))
			k++;
	}
	n = k;
	uint32_t id = mp_profile_stack(st->p, st->locs, n);
	st->stack_id[s] = id + 1;
	return id;
}
