/* SPDX-License-Identifier: MIT */
/* Map growth tracking: placeholder until the map-growth issue lands; records nothing. */
#include "maps.h"

unsigned mp_maps_on_alloc(mp_tls_t *t, void *p, size_t size)
{
	t->map_pending = 0;
	return 0;
}

void mp_maps_on_free(mp_tls_t *t, void *p)
{
}

void mp_maps_dump(struct mp_buf *b, uint64_t now_mono)
{
}

void mp_maps_reset(void)
{
}

void mp_maps_lock_all(void)
{
}

void mp_maps_unlock_all(void)
{
}
