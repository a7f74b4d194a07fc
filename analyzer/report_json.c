// SPDX-License-Identifier: MIT
/* --json: the profile for scripts, normalized like pprof's own model so that a stack is written
 * once however many samples share it (the older shape repeated every frame in every sample and
 * grew to gigabytes). One object, keys in this order:
 *
 *   "profile": "heap" | "grow",  "rate": N,  "exact": bool,  "processes": N,
 *   "skipped_files": N (files --keep-going skipped; 0 without it),
 *   "sample_types": [{"type": "alloc_objects", "unit": "count"}, ...],
 *   "default_sample_type": "inuse_space",
 *   "totals": {"alloc_calls", "free_calls", "alloc_bytes", "sampled", "dropped",
 *              "inuse_bytes_est", "peak_inuse_bytes_est" (null with sampling off), "threads"},
 *   "locations": [{"id": 1, "address": "0x...", "object": "/path" | null,
 *                  "lines": [{"function": "f", "file": "f.c", "line": 12}, ...]}, ...],
 *   "stacks": [{"id": 1, "locations": [3, 2, 1]}, ...],
 *   "samples": [{"values": [...], "labels": {"bytes": 64, "map_kind": "uthash"}, "stack": 1}]
 *
 * Ids start at 1 and are array positions + 1 (location id N is locations[N - 1]), as in the
 * pprof profile. A location's lines are innermost inlined function first, the function that
 * holds the code last; an address that could not be symbolized has no lines and is named by
 * its address and object. A stack lists location ids leaf first. values follow sample_types.
 * Samples come in the pprof writer's order (by stack, then labels), one per line. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Output is staged in a buffer and written in large blocks: a million samples make tens of
 * millions of small pieces, and stdio's per-call locking and fprintf's parsing dominated. */
typedef struct {
	FILE *f;
	size_t n;
	char b[1 << 16];
} jout_t;

static void jflush(jout_t *o)
{
	if (o->n)
		fwrite(o->b, 1, o->n, o->f);
	o->n = 0;
}

static void jmem(jout_t *o, const char *s, size_t n)
{
	if (o->n + n > sizeof(o->b)) {
		jflush(o);
		if (n > sizeof(o->b)) {
			fwrite(s, 1, n, o->f);
			return;
		}
	}
	memcpy(o->b + o->n, s, n);
	o->n += n;
}

static void jput(jout_t *o, const char *s)
{
	jmem(o, s, strlen(s));
}

static void jchar(jout_t *o, char c)
{
	if (o->n == sizeof(o->b))
		jflush(o);
	o->b[o->n++] = c;
}

static void ju64(jout_t *o, uint64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jmem(o, d + i, sizeof(d) - i);
}

static void ji64(jout_t *o, int64_t v)
{
	if (v < 0) {
		jchar(o, '-');
		ju64(o, -(uint64_t)v);
	} else {
		ju64(o, (uint64_t)v);
	}
}

static void jhex(jout_t *o, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char d[20];
	size_t i = sizeof(d);
	do {
		d[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	d[--i] = 'x';
	d[--i] = '0';
	jchar(o, '"');
	jmem(o, d + i, sizeof(d) - i);
	jchar(o, '"');
}

static void jstr(jout_t *o, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	jchar(o, '"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			jchar(o, '\\');
			jchar(o, (char)*c);
		} else if (*c == '\n') {
			jput(o, "\\n");
		} else if (*c < 0x20) {
			char u[6] = {'\\', 'u', '0', '0', digits[*c >> 4], digits[*c & 15]};
			jmem(o, u, sizeof(u));
		} else if (*c >= 0x80) {
			size_t n = mp_utf8_len(c);
			if (n) {
				jmem(o, (const char *)c, n);
				c += n - 1;
			} else {
				jput(o, "\\ufffd"); /* a byte of no UTF-8 sequence (a path's) */
			}
		} else {
			jchar(o, (char)*c);
		}
	}
	jchar(o, '"');
}

static void header(jout_t *o, const mp_profile_t *p, const mp_report_info_t *info)
{
	const mp_inputs_t *in = info->in;
	int grow = strcmp(info->profile, "grow") == 0;
	jput(o, "{\"profile\":");
	jstr(o, info->profile);
	jput(o, ",\"rate\":");
	ju64(o, in->rate);
	if (in->mixed_rates) /* processes at several rates: rate says how in-use totals sum */
		jput(o, ",\"mixed_rates\":true");
	/* What found no memory left for the profiler is missing: the figures are lower bounds,
	 * not exact (a heap profile's samples; a grow profile's grows, and its in-use totals
	 * from the samples: as in --maps). */
	uint64_t dropped = in->totals.dropped + (grow ? in->totals.maps_dropped : 0);
	jput(o, (grow || in->rate == 1) && !dropped ? ",\"exact\":true" : ",\"exact\":false");
	jput(o, dropped ? ",\"lower_bounds\":true" : ",\"lower_bounds\":false");
	jput(o, ",\"processes\":");
	ju64(o, in->n);
	jput(o, ",\"skipped_files\":"); /* always there: a script need not test for it */
	ju64(o, in->skipped);
	jput(o, ",\"sample_types\":[");
	for (size_t i = 0; i < p->ntypes; i++) {
		jput(o, i ? ",{\"type\":" : "{\"type\":");
		jstr(o, p->strings[p->type[i]]);
		jput(o, ",\"unit\":");
		jstr(o, p->strings[p->unit[i]]);
		jchar(o, '}');
	}
	jput(o, "],\"default_sample_type\":");
	jstr(o, p->strings[p->default_type]);
	const mp_dump_totals_t *t = &in->totals;
	/* Sampling off (rate 0): nothing is known of what is in use (null, not 0). */
	bool unknown = in->rate == 0;
	const struct {
		const char *key;
		uint64_t v;
		bool null;
	} totals[] = {
	    {"{\"alloc_calls\":", t->alloc_calls, false},
	    {",\"free_calls\":", t->free_calls, false},
	    {",\"alloc_bytes\":", t->alloc_bytes, false},
	    {",\"sampled\":", t->sampled, false},
	    {",\"dropped\":", t->dropped, false},
	    {",\"maps_dropped\":", t->maps_dropped, false},
	    {",\"inuse_bytes_est\":", t->inuse_bytes_est, unknown},
	    {",\"peak_inuse_bytes_est\":", t->peak_inuse_bytes_est, unknown},
	    {",\"threads\":", t->threads, false},
	};
	jput(o, ",\"totals\":");
	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		jput(o, totals[i].key);
		if (totals[i].null)
			jput(o, "null");
		else
			ju64(o, totals[i].v);
	}
	jchar(o, '}');
}

static void locations(jout_t *o, const mp_profile_t *p)
{
	jput(o, ",\n\"locations\":[");
	for (size_t i = 0; i < p->nlocations; i++) {
		const mp_location_t *l = &p->locations[i];
		jput(o, i ? ",\n{\"id\":" : "\n{\"id\":");
		ju64(o, i + 1);
		jput(o, ",\"address\":");
		jhex(o, l->address);
		jput(o, ",\"object\":");
		if (l->mapping_id)
			jstr(o, p->strings[p->mappings[l->mapping_id - 1].filename]);
		else
			jput(o, "null");
		jput(o, ",\"lines\":[");
		for (uint32_t k = 0; k < l->nlines; k++) {
			const mp_line_t *ln = &p->lines[l->line_off + k];
			const mp_function_t *fn = &p->functions[ln->function_id - 1];
			jput(o, k ? ",{\"function\":" : "{\"function\":");
			jstr(o, p->strings[fn->name]);
			jput(o, ",\"file\":");
			jstr(o, p->strings[fn->filename]);
			jput(o, ",\"line\":");
			ji64(o, ln->line);
			jchar(o, '}');
		}
		jput(o, "]}");
	}
	jput(o, "\n]");
}

static void stacks(jout_t *o, const mp_profile_t *p)
{
	jput(o, ",\n\"stacks\":[");
	for (size_t i = 0; i < p->nstacks; i++) {
		jput(o, i ? ",\n{\"id\":" : "\n{\"id\":");
		ju64(o, i + 1);
		jput(o, ",\"locations\":[");
		uint32_t n = mp_profile_stack_len(p, (uint32_t)i);
		const uint64_t *locs = mp_profile_stack_locs(p, (uint32_t)i);
		for (uint32_t j = 0; j < n; j++) {
			if (j)
				jchar(o, ',');
			ju64(o, locs[j]);
		}
		jput(o, "]}");
	}
	jput(o, "\n]");
}

static void samples(jout_t *o, const mp_profile_t *p)
{
	jput(o, ",\n\"samples\":[");
	for (size_t i = 0; i < p->nsamples; i++) {
		const mp_sample_t *s = &p->samples[i];
		jput(o, i ? ",\n{\"values\":[" : "\n{\"values\":[");
		for (size_t v = 0; v < p->ntypes; v++) {
			if (v)
				jchar(o, ',');
			ji64(o, s->value[v]);
		}
		jput(o, "],\"labels\":{");
		for (int l = 0; l < s->nlabels; l++) {
			if (l)
				jchar(o, ',');
			jstr(o, p->strings[s->label[l].key]);
			jchar(o, ':');
			if (s->label[l].str)
				jstr(o, p->strings[s->label[l].str]);
			else
				ji64(o, s->label[l].num);
		}
		jput(o, "},\"stack\":");
		ju64(o, (uint64_t)s->stack + 1);
		jchar(o, '}');
	}
	jput(o, "\n]");
}

int mp_report_json(FILE *f, const mp_profile_t *p, const mp_report_info_t *info)
{
	jout_t *o = mp_xmalloc(sizeof(*o));
	o->f = f;
	o->n = 0;
	header(o, p, info);
	locations(o, p);
	stacks(o, p);
	samples(o, p);
	jput(o, "}\n");
	jflush(o);
	free(o);
	return ferror(f) ? MP_EIO : MP_OK;
}
