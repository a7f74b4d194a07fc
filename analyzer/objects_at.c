// SPDX-License-Identifier: MIT
/* Which object holds a pc of a stack (DUMP_FORMAT.md, "Finding a pc's object"): the unloaded
 * object covering it with the lowest epoch above the stack's key, else the loaded one. Indexed
 * so that a plugin closed and reopened 100,000 times (as many UNLOADED entries, all over one
 * range) costs a binary search per pc, not a scan: loaded objects sorted by start, unloaded
 * ones grouped by identical range and sorted by epoch within a group. */
#include <stdlib.h>

#include "dump_read.h"
#include "util.h"

struct mp_urange {
	uint64_t start, limit;
	uint32_t first, n; /* into unloaded_order */
};

static const mp_dump_t *sort_d; /* qsort has no context argument */

static int by_start(const void *a, const void *b)
{
	const mp_dump_object_t *x = &sort_d->objects[*(const uint32_t *)a];
	const mp_dump_object_t *y = &sort_d->objects[*(const uint32_t *)b];
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->limit != y->limit)
		return x->limit < y->limit ? -1 : 1;
	if (x->unload_epoch != y->unload_epoch)
		return x->unload_epoch < y->unload_epoch ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

void mp_dump_index_objects(mp_dump_t *d)
{
	d->loaded_order = mp_xcalloc(d->nobjects + 1, sizeof(uint32_t));
	d->unloaded_order = mp_xcalloc(d->nobjects + 1, sizeof(uint32_t));
	uint32_t nu = 0;
	for (uint32_t i = 0; i < d->nobjects; i++) {
		if (d->objects[i].unload_epoch)
			d->unloaded_order[nu++] = i;
		else
			d->loaded_order[d->nloaded++] = i;
	}
	sort_d = d;
	if (d->nloaded)
		qsort(d->loaded_order, d->nloaded, sizeof(uint32_t), by_start);
	if (nu)
		qsort(d->unloaded_order, nu, sizeof(uint32_t), by_start);
	d->uranges = mp_xcalloc(nu + 1, sizeof(*d->uranges));
	for (uint32_t i = 0; i < nu; i++) {
		const mp_dump_object_t *o = &d->objects[d->unloaded_order[i]];
		struct mp_urange *g = d->nuranges ? &d->uranges[d->nuranges - 1] : NULL;
		if (!g || g->start != o->start || g->limit != o->limit)
			d->uranges[d->nuranges++] = (struct mp_urange){o->start, o->limit, i, 0};
		d->uranges[d->nuranges - 1].n++;
	}
}

/* pc is a return address: it may sit one past the segment's last byte */
static inline int covers(uint64_t start, uint64_t limit, uint64_t pc)
{
	return pc > start && pc <= limit;
}

int64_t mp_dump_object_at(const mp_dump_t *d, uint32_t s, uint64_t pc)
{
	uint32_t key = d->stack_key ? d->stack_key[s] : 0;
	int64_t best = -1;
	uint32_t best_epoch = UINT32_MAX;
	for (uint32_t r = 0; r < d->nuranges; r++) {
		const struct mp_urange *g = &d->uranges[r];
		if (!covers(g->start, g->limit, pc))
			continue;
		/* the first epoch above the key in this range */
		uint32_t lo = g->first, hi = g->first + g->n;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (d->objects[d->unloaded_order[mid]].unload_epoch <= key)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < g->first + g->n) {
			uint32_t i = d->unloaded_order[lo];
			if (d->objects[i].unload_epoch < best_epoch) {
				best_epoch = d->objects[i].unload_epoch;
				best = i;
			}
		}
	}
	if (best >= 0)
		return best;
	/* the loaded object: the last starting below pc (they do not overlap), else one before
	 * it that still covers pc (a malformed dump may have them overlap: the first in order) */
	uint32_t lo = 0, hi = d->nloaded;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (d->objects[d->loaded_order[mid]].start < pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	int64_t found = -1;
	for (uint32_t i = lo; i-- > 0;) {
		const mp_dump_object_t *o = &d->objects[d->loaded_order[i]];
		if (covers(o->start, o->limit, pc) &&
		    (found < 0 || d->loaded_order[i] < (uint32_t)found))
			found = d->loaded_order[i];
		if (lo - i > 64)
			break;
	}
	return found;
}
