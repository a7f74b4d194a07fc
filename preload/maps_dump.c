/* SPDX-License-Identifier: MIT */
/* Serializes map tracking into the MAP_GROWS (7), MAP_SITES (8) and MAP_PC_LIVE (11) dump sections
 * (include/mapprof/DUMP_FORMAT.md). Live instances are folded into a scratch copy of their
 * site's aggregates, with "now" (mp_maps_now) as their death, so the file holds dead and live
 * together. */
#include <stddef.h>
#include <string.h>
#include "arena.h"
#include "buf.h"
#include "maps_int.h"
#include "table.h"

static void put_grows_locked(struct mp_buf *b)
{
	mp_htab_t *t = mp_maps_grows_locked();
	size_t at = mp_buf_section_begin(b, MP_SEC_MAP_GROWS);
	uint32_t count = 0;
	size_t count_at = mp_buf_u32_later(b);
	for (size_t i = 0; i < t->nb; i++) {
		for (mp_hnode_t *n = t->b[i]; n; n = n->next) {
			const mp_map_grow_t *g = (const mp_map_grow_t *)n;
			if (g->stack == MP_NO_STACK || g->count == 0)
				continue;
			mp_buf_u32(b, g->stack);
			mp_buf_u16(b, g->kind);
			mp_buf_u16(b, g->flags);
			mp_buf_u64(b, g->from);
			mp_buf_u64(b, g->to);
			mp_buf_u64(b, g->count);
			mp_buf_u64(b, g->rehashed);
			mp_buf_u64(b, g->bytes);
			mp_buf_u64(b, g->ns);
			count++;
		}
	}
	mp_buf_u32_at(b, count_at, count);
	mp_buf_section_end(b, at);
}

static void put_site(struct mp_buf *b, const mp_map_site_t *s, const mp_site_agg_t *a)
{
	mp_buf_u32(b, s->stack);
	mp_buf_u16(b, s->kind);
	mp_buf_u16(b, s->flags);
	const uint64_t v[] = {a->instances,   a->live,	   a->max_live,	  a->grows,
			      a->max_grows,   a->reserved, a->tiny,	  a->shared,
			      a->max_threads, a->noexpand, a->grow_bytes, a->grow_ns,
			      a->max_grow_ns, a->max_size};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		mp_buf_u64(b, v[i]);
	for (unsigned i = 0; i < MP_HIST_SIZE_BUCKETS; i++)
		mp_buf_u64(b, a->size_hist[i]);
	for (unsigned i = 0; i < MP_HIST_LIFE_BUCKETS; i++)
		mp_buf_u64(b, a->life_hist[i]);
}

static void put_sites_locked(struct mp_buf *b, uint64_t now)
{
	mp_htab_t *st = mp_maps_sites_locked(), *it = mp_maps_insts_locked();
	/* Scratch aggregates: one arena block for all sites, released before returning. */
	size_t nsites = st->n, k = 0;
	mp_site_agg_t *scratch = nsites ? mp_arena_alloc_dump(nsites * sizeof(*scratch)) : NULL;
	if (nsites && !scratch) {
		b->failed = true;
		return;
	}
	for (size_t i = 0; i < st->nb; i++) {
		for (mp_hnode_t *n = st->b[i]; n; n = n->next) {
			mp_map_site_t *s = (mp_map_site_t *)n;
			s->dump = &scratch[k++];
			*s->dump = s->agg;
		}
	}
	for (size_t i = 0; i < it->nb; i++) {
		for (mp_hnode_t *n = it->b[i]; n; n = n->next) {
			mp_map_inst_t *m = (mp_map_inst_t *)n;
			mp_maps_cxx_take_cache_locked(m); /* elements since its last grow */
			mp_maps_hint_fold_locked(m);	  /* and those the hints counted */
			mp_maps_fold(m->site->dump, m, now);
		}
	}
	size_t at = mp_buf_section_begin(b, MP_SEC_MAP_SITES);
	uint32_t count = 0;
	size_t count_at = mp_buf_u32_later(b);
	for (size_t i = 0; i < st->nb; i++) {
		for (mp_hnode_t *n = st->b[i]; n; n = n->next) {
			mp_map_site_t *s = (mp_map_site_t *)n;
			if (s->stack != MP_NO_STACK && (s->dump->instances || s->dump->grows)) {
				put_site(b, s, s->dump);
				count++;
			}
		}
	}
	/* 1.2, 1.3, 1.7 (two) and 1.8 (two): appended after the entries, one per entry in their
	 * order each */
	static const size_t field[] = {
	    offsetof(mp_site_agg_t, heap_grow_bytes), offsetof(mp_site_agg_t, turns),
	    offsetof(mp_site_agg_t, copies),	      offsetof(mp_site_agg_t, lf_lowered),
	    offsetof(mp_site_agg_t, late_reserved),   offsetof(mp_site_agg_t, late_buckets)};
	enum { PASSES = sizeof(field) / sizeof(field[0]) };
	for (int pass = 0; pass < PASSES; pass++) {
		for (size_t i = 0; i < st->nb; i++) {
			for (mp_hnode_t *n = st->b[i]; n; n = n->next) {
				mp_map_site_t *s = (mp_map_site_t *)n;
				const mp_site_agg_t *a = s->dump;
				if (s->stack != MP_NO_STACK && (a->instances || a->grows))
					mp_buf_u64(
					    b, *(const uint64_t *)(const void *)((const char *)a +
										 field[pass]));
				if (pass == PASSES - 1)
					s->dump = NULL;
			}
		}
	}
	mp_buf_u32_at(b, count_at, count);
	mp_buf_section_end(b, at);
	if (scratch)
		mp_arena_free(scratch, nsites * sizeof(*scratch));
}

static void put_pcgs_locked(struct mp_buf *b)
{
	mp_htab_t *t = mp_maps_pcgs_locked();
	size_t at = mp_buf_section_begin(b, MP_SEC_MAP_PC_LIVE);
	uint32_t count = 0;
	size_t count_at = mp_buf_u32_later(b);
	for (size_t i = 0; i < t->nb; i++) {
		for (mp_hnode_t *n = t->b[i]; n; n = n->next) {
			const mp_map_pcg_t *g = (const mp_map_pcg_t *)n;
			if (g->max_live == 0)
				continue;
			mp_buf_u64(b, g->pc);
			mp_buf_u32(b, g->key);
			mp_buf_u16(b, g->kind);
			mp_buf_u16(b, 0);
			mp_buf_u64(b, g->max_live);
			count++;
		}
	}
	mp_buf_u32_at(b, count_at, count);
	mp_buf_section_end(b, at);
}

/* Called by the dump writer (dump lock held) before it takes the table lock: every stack id
 * written here was interned when the event was recorded. */
void mp_maps_dump(struct mp_buf *b)
{
	mp_maps_lock();
	put_grows_locked(b);
	put_sites_locked(b, mp_maps_now());
	put_pcgs_locked(b);
	mp_maps_unlock();
}
