/* SPDX-License-Identifier: MIT */
/* Serializes map tracking into the MAP_GROWS (7), MAP_SITES (8) and MAP_PC_LIVE (11) dump sections
 * (include/mapprof/DUMP_FORMAT.md). Live instances are folded into a scratch copy of their
 * site's aggregates, with "now" (mp_maps_now) as their death, so the file holds dead and live
 * together. What the sections hold is copied under the maps lock and written after it: every
 * thread that grows a map waits for that lock, and writing a program's thousands of sites into
 * the buffer under it stalled them for tens to hundreds of milliseconds at every dump. */
#include <stddef.h>
#include <string.h>
#include "arena.h"
#include "buf.h"
#include "maps_int.h"
#include "table.h"

typedef struct {
	uint32_t stack;
	uint16_t kind, flags;
	uint64_t from, to, count, rehashed, bytes, ns;
} grow_copy_t;

typedef struct {
	uint32_t stack;
	uint16_t kind, flags;
	mp_site_agg_t agg;
} site_copy_t;

typedef struct {
	uint64_t pc, max_live;
	uint32_t key;
	uint16_t kind;
} pcg_copy_t;

/* The copies, in arena blocks of the sizes given back to mp_arena_free. */
typedef struct {
	grow_copy_t *grows;
	site_copy_t *sites;
	pcg_copy_t *pcgs;
	size_t ngrows, nsites, npcgs, cap_grows, cap_sites, cap_pcgs;
} snapshot_t;

static void *block(size_t n, size_t each)
{
	return n ? mp_arena_alloc_dump(n * each) : NULL;
}

static void release(snapshot_t *sn)
{
	if (sn->grows)
		mp_arena_free(sn->grows, sn->cap_grows * sizeof(*sn->grows));
	if (sn->sites)
		mp_arena_free(sn->sites, sn->cap_sites * sizeof(*sn->sites));
	if (sn->pcgs)
		mp_arena_free(sn->pcgs, sn->cap_pcgs * sizeof(*sn->pcgs));
}

/* Blocks for at least the given counts, with room for a few more, their pages touched: made
 * before the maps lock is taken, so that neither the mapping nor its page faults hold it. */
static void room(snapshot_t *sn, size_t grows, size_t sites, size_t pcgs)
{
	release(sn);
	memset(sn, 0, sizeof(*sn));
	/* Nothing for an empty table: a dump under an address-space limit (exact mode, no maps)
	 * has no memory to spare for it. */
	sn->cap_grows = grows ? grows + grows / 8 + 16 : 0;
	sn->cap_sites = sites ? sites + sites / 8 + 16 : 0;
	sn->cap_pcgs = pcgs ? pcgs + pcgs / 8 + 16 : 0;
	sn->grows = block(sn->cap_grows, sizeof(*sn->grows));
	sn->sites = block(sn->cap_sites, sizeof(*sn->sites));
	sn->pcgs = block(sn->cap_pcgs, sizeof(*sn->pcgs));
	if (sn->grows)
		memset(sn->grows, 0, sn->cap_grows * sizeof(*sn->grows));
	if (sn->sites)
		memset(sn->sites, 0, sn->cap_sites * sizeof(*sn->sites));
	if (sn->pcgs)
		memset(sn->pcgs, 0, sn->cap_pcgs * sizeof(*sn->pcgs));
}

/* Maps lock held: whether sn has room for what the tables hold now (none needed for empty
 * ones; a block that could not be made has none). */
static bool fits_locked(const snapshot_t *sn)
{
	size_t g = mp_maps_grows_locked()->n, s = mp_maps_sites_locked()->n,
	       p = mp_maps_pcgs_locked()->n;
	return (!g || (sn->grows && g <= sn->cap_grows)) &&
	       (!s || (sn->sites && s <= sn->cap_sites)) && (!p || (sn->pcgs && p <= sn->cap_pcgs));
}

/* Maps lock held, sn with room for the tables (fits_locked): copies what the three sections
 * hold. */
static void take_locked(snapshot_t *sn, uint64_t now)
{
	mp_htab_t *gt = mp_maps_grows_locked(), *st = mp_maps_sites_locked(),
		  *it = mp_maps_insts_locked(), *pt = mp_maps_pcgs_locked();
	for (size_t i = 0; i < gt->nb; i++) {
		for (mp_hnode_t *n = gt->b[i]; n && sn->ngrows < gt->n; n = n->next) {
			const mp_map_grow_t *g = (const mp_map_grow_t *)n;
			if (g->stack != MP_NO_STACK && g->count)
				sn->grows[sn->ngrows++] =
				    (grow_copy_t){g->stack, g->kind,	 g->flags, g->from, g->to,
						  g->count, g->rehashed, g->bytes, g->ns};
		}
	}
	for (size_t i = 0; i < st->nb; i++) {
		for (mp_hnode_t *n = st->b[i]; n && sn->nsites < st->n; n = n->next) {
			mp_map_site_t *s = (mp_map_site_t *)n;
			site_copy_t *c = &sn->sites[sn->nsites++];
			c->stack = s->stack;
			c->kind = s->kind;
			c->flags = s->flags;
			c->agg = s->agg;
			s->dump = &c->agg;
		}
	}
	for (size_t i = 0; i < it->nb; i++) {
		for (mp_hnode_t *n = it->b[i]; n; n = n->next) {
			mp_map_inst_t *m = (mp_map_inst_t *)n;
			mp_maps_cxx_take_cache_locked(m); /* elements since its last grow */
			if (m->hinted)			  /* and those the hints counted */
				mp_maps_hint_fold_locked(m);
			if (m->site->dump) {
				mp_maps_fold(m->site->dump, m, now);
				m->site->dump->heap_grow_bytes += m->heap_pending; /* in flight */
			}
		}
	}
	for (size_t i = 0; i < st->nb; i++)
		for (mp_hnode_t *n = st->b[i]; n; n = n->next)
			((mp_map_site_t *)n)->dump = NULL;
	for (size_t i = 0; i < pt->nb; i++) {
		for (mp_hnode_t *n = pt->b[i]; n && sn->npcgs < pt->n; n = n->next) {
			const mp_map_pcg_t *g = (const mp_map_pcg_t *)n;
			if (g->max_live)
				sn->pcgs[sn->npcgs++] =
				    (pcg_copy_t){g->pc, g->max_live, g->key, g->kind};
		}
	}
}

static void put_grows(struct mp_buf *b, const snapshot_t *sn)
{
	size_t at = mp_buf_section_begin(b, MP_SEC_MAP_GROWS);
	mp_buf_u32(b, (uint32_t)sn->ngrows);
	for (size_t i = 0; i < sn->ngrows; i++) {
		const grow_copy_t *g = &sn->grows[i];
		mp_buf_u32(b, g->stack);
		mp_buf_u16(b, g->kind);
		mp_buf_u16(b, g->flags);
		mp_buf_u64(b, g->from);
		mp_buf_u64(b, g->to);
		mp_buf_u64(b, g->count);
		mp_buf_u64(b, g->rehashed);
		mp_buf_u64(b, g->bytes);
		mp_buf_u64(b, g->ns);
	}
	mp_buf_section_end(b, at);
}

static bool site_written(const site_copy_t *c)
{
	return c->stack != MP_NO_STACK && (c->agg.instances || c->agg.grows);
}

static void put_site(struct mp_buf *b, const site_copy_t *c)
{
	const mp_site_agg_t *a = &c->agg;
	mp_buf_u32(b, c->stack);
	mp_buf_u16(b, c->kind);
	mp_buf_u16(b, c->flags);
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

static void put_sites(struct mp_buf *b, const snapshot_t *sn)
{
	size_t at = mp_buf_section_begin(b, MP_SEC_MAP_SITES);
	uint32_t count = 0;
	size_t count_at = mp_buf_u32_later(b);
	for (size_t i = 0; i < sn->nsites; i++) {
		if (site_written(&sn->sites[i])) {
			put_site(b, &sn->sites[i]);
			count++;
		}
	}
	/* 1.2, 1.3, 1.7 (two), 1.8 (two) and 1.9: appended after the entries, one per entry in
	 * their order each */
	static const size_t field[] = {
	    offsetof(mp_site_agg_t, heap_grow_bytes), offsetof(mp_site_agg_t, turns),
	    offsetof(mp_site_agg_t, copies),	      offsetof(mp_site_agg_t, lf_lowered),
	    offsetof(mp_site_agg_t, late_reserved),   offsetof(mp_site_agg_t, late_buckets),
	    offsetof(mp_site_agg_t, moved_out)};
	for (size_t pass = 0; pass < sizeof(field) / sizeof(field[0]); pass++)
		for (size_t i = 0; i < sn->nsites; i++)
			if (site_written(&sn->sites[i]))
				mp_buf_u64(
				    b, *(const uint64_t *)(const void *)((const char *)&sn->sites[i]
									     .agg +
									 field[pass]));
	mp_buf_u32_at(b, count_at, count);
	mp_buf_section_end(b, at);
}

static void put_pcgs(struct mp_buf *b, const snapshot_t *sn)
{
	size_t at = mp_buf_section_begin(b, MP_SEC_MAP_PC_LIVE);
	mp_buf_u32(b, (uint32_t)sn->npcgs);
	for (size_t i = 0; i < sn->npcgs; i++) {
		const pcg_copy_t *g = &sn->pcgs[i];
		mp_buf_u64(b, g->pc);
		mp_buf_u32(b, g->key);
		mp_buf_u16(b, g->kind);
		mp_buf_u16(b, 0);
		mp_buf_u64(b, g->max_live);
	}
	mp_buf_section_end(b, at);
}

/* Called by the dump writer (dump lock held) before it takes the table lock: every stack id
 * written here was interned when the event was recorded. */
void mp_maps_dump(struct mp_buf *b)
{
	snapshot_t sn = {0};
	bool ok = false;
	/* The counts read under the lock, the room made outside it; tables that grew past the
	 * room meanwhile (three tries) get it made under the lock. */
	for (int tries = 0; tries < 4 && !ok; tries++) {
		mp_maps_lock();
		if (tries == 3 && !fits_locked(&sn))
			room(&sn, mp_maps_grows_locked()->n, mp_maps_sites_locked()->n,
			     mp_maps_pcgs_locked()->n);
		if (fits_locked(&sn)) {
			take_locked(&sn, mp_maps_now());
			ok = true;
		}
		size_t g = mp_maps_grows_locked()->n, s = mp_maps_sites_locked()->n,
		       p = mp_maps_pcgs_locked()->n;
		mp_maps_unlock();
		if (!ok && tries < 3)
			room(&sn, g, s, p);
	}
	if (ok) {
		put_grows(b, &sn);
		put_sites(b, &sn);
		put_pcgs(b, &sn);
	} else {
		b->failed = true;
	}
	release(&sn);
}
