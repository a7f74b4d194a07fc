// SPDX-License-Identifier: MIT
/* --folded: collapsed stacks, `root;...;leaf value` per line, for flamegraph.pl and speedscope.
 * Inlined functions are frames of their own; samples of one stack that differ only in labels
 * (object size, map kind) are one line. Lines follow the profile's sample order, so the output
 * is as deterministic as the profile; readers sum repeated stacks themselves. */
#include "report.h"

#include <inttypes.h>

static void frames(FILE *f, const mp_profile_t *p, uint32_t stack)
{
	uint32_t n = mp_profile_stack_len(p, stack);
	const uint64_t *locs = mp_profile_stack_locs(p, stack);
	char buf[96];
	int first = 1;
	for (uint32_t j = n; j-- > 0;) { /* root first */
		const mp_location_t *l = &p->locations[locs[j] - 1];
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = nl; k-- > 0;) { /* the caller before what it inlined */
			const char *name = mp_report_frame_name(p, locs[j], k, buf, sizeof(buf));
			if (!first)
				fputc(';', f);
			first = 0;
			/* ';' separates frames and the last ' ' the value: keep both out of names
			 */
			for (const char *c = name; *c; c++)
				fputc(*c == ';' ? ':' : *c, f);
		}
	}
}

int mp_report_folded(FILE *f, const mp_profile_t *p, const mp_report_info_t *info)
{
	int vi = info->sample_index;
	for (size_t i = 0; i < p->nsamples;) {
		uint32_t stack = p->samples[i].stack;
		int64_t v = 0;
		for (; i < p->nsamples && p->samples[i].stack == stack; i++)
			v += p->samples[i].value[vi];
		if (v == 0)
			continue;
		frames(f, p, stack);
		fprintf(f, " %" PRId64 "\n", v);
	}
	return ferror(f) ? MP_EIO : MP_OK;
}
