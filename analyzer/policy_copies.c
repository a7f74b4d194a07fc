// SPDX-License-Identifier: MIT
/* Programs whose unordered_maps the shim cannot see: one linked with -static-libstdc++ carries
 * its own copy of libstdc++'s rehash policy, which its maps call instead of the shared
 * library's that the shim interposes. With no map seen at all, --maps says so; with other maps
 * seen (uthash, the API, a library's unordered_maps), its maps were missing without a word.
 * A shared library's copy that it calls through the dynamic linker is interposed all the same:
 * no warning for it. */
#include <string.h>

#include "report.h"
#include "symbolize.h"

#define NEED_REHASH "_ZNKSt8__detail20_Prime_rehash_policy14_M_need_rehashEmmm"

static bool is_libstdcxx(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strncmp(base, "libstdc++.so", 12) == 0;
}

void mp_report_policy_copies(FILE *err, const mp_inputs_t *in, mp_symbolizer_t *sym)
{
	/* The objects in the stacks looked at so far, and each process's executable (a site
	 * inside it is the case at hand). Not every library: each would be opened and read. */
	for (size_t i = 0; i < in->n; i++) {
		const mp_dump_t *d = &in->dumps[i];
		if (!(d->flags & MP_HDR_MAPS_ENABLED) || !d->exe)
			continue;
		for (uint32_t k = 0; k < d->nobjects; k++) {
			const mp_dump_object_t *o = &d->objects[k];
			if (strcmp(o->path, d->exe) == 0) {
				mp_symbolize_object(sym, o->path, o->build_id, o->build_id_len);
				break;
			}
		}
	}
	int n = mp_symbolize_count(sym);
	for (int obj = 0; obj < n; obj++) {
		const char *path = mp_symbolize_path(sym, obj);
		/* The shim defines it too: its interposer, found by its own API. */
		if (is_libstdcxx(path) || !mp_symbolize_defines(sym, obj, NEED_REHASH) ||
		    mp_symbolize_defines(sym, obj, "mapprof_dump"))
			continue;
		/* A library's copy it calls through its PLT (exported, the default) is
		 * interposed like the shared one: its grows are seen (black-box QA: the
		 * warning came above a plugin's grows, all counted). */
		if (mp_symbolize_binds_dynamically(sym, obj, NEED_REHASH))
			continue;
		fprintf(err,
			"mapprof-report: %s has its own copy of libstdc++'s hash-map code (linked "
			"with -static-libstdc++?): its unordered_map grows are not seen\n",
			path);
	}
}
