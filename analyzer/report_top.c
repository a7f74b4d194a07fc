// SPDX-License-Identifier: MIT
/* --top: a table like `go tool pprof -top -lines`: one row per source line (function, file,
 * line; inlined frames count as their own lines), flat = value where the line is the leaf,
 * cum = value of every sample that passes through it (once per sample, however deep the
 * recursion). The header says what the numbers are: sampled estimates at a rate, or exact. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint64_t loc;  /* location id, for unsymbolized rows: the first one seen */
	uint64_t func; /* function id, 0 for unsymbolized rows */
	int64_t line;
	/* Unsymbolized rows are one per object and offset in its file, as they are named: one
	 * binary's frame is at another address in each process that loaded it. A frame in no
	 * object: file UINT64_MAX, off its address. */
	uint64_t file, build_id, off;
	int64_t flat, cum;
	size_t last; /* sample index + 1 that last added to cum */
} row_t;

typedef struct {
	row_t *rows;
	size_t n, cap;
	mp_htab_t index;
} rows_t;

typedef struct {
	const rows_t *r;
	uint64_t func;
	int64_t line;
	uint64_t file, build_id, off;
} row_key_t;

static int row_eq(const void *ctx, uint32_t i)
{
	const row_key_t *k = ctx;
	const row_t *r = &k->r->rows[i];
	return r->func == k->func && r->line == k->line && r->file == k->file &&
	       r->build_id == k->build_id && r->off == k->off;
}

static row_t *row_get(rows_t *r, const mp_profile_t *p, uint64_t loc, uint64_t func, int64_t line)
{
	row_key_t k = {r, func, line, 0, 0, 0};
	if (!func) { /* its object's file (string ids: equal names, equal ids) and offset */
		const mp_location_t *l = &p->locations[loc - 1];
		k.off = l->address;
		k.file = UINT64_MAX; /* no string id: apart from an object named "" */
		if (l->mapping_id) {
			const mp_mapping_t *m = &p->mappings[l->mapping_id - 1];
			/* One build at two paths (a copy, /usr/bin/git and git-core's) is the same
			 * code: by its build ID alone, where it has one ("" is string 0) */
			k.file = m->build_id ? 0 : (uint64_t)m->filename;
			k.build_id = (uint64_t)m->build_id;
			k.off = l->address - m->start + m->offset;
		}
	}
	uint64_t h = mp_hash_u64(func * 0x9e3779b97f4a7c15ull ^ (uint64_t)line ^ k.off << 20 ^
				 k.file << 44 ^ k.build_id);
	uint32_t i = mp_htab_find(&r->index, h, row_eq, &k);
	if (i == MP_HTAB_NONE) {
		MP_GROW(r->rows, r->cap, r->n + 1);
		r->rows[r->n] =
		    (row_t){func ? 0 : loc, func, line, k.file, k.build_id, k.off, 0, 0, 0};
		i = (uint32_t)r->n++;
		mp_htab_insert(&r->index, h, i);
	}
	return &r->rows[i];
}

static const mp_profile_t *sort_profile;

static int row_cmp(const void *a, const void *b)
{
	const row_t *x = a, *y = b;
	if (x->flat != y->flat)
		return x->flat > y->flat ? -1 : 1;
	if (x->cum != y->cum)
		return x->cum > y->cum ? -1 : 1;
	const mp_profile_t *p = sort_profile;
	if (x->func && y->func) {
		int c = strcmp(p->strings[p->functions[x->func - 1].name],
			       p->strings[p->functions[y->func - 1].name]);
		if (c)
			return c;
		if (x->line != y->line)
			return x->line < y->line ? -1 : 1;
	}
	if (!x->func != !y->func)
		return x->func ? -1 : 1;
	return x->loc < y->loc ? -1 : x->loc > y->loc;
}

/* A total as a signed value for mp_report_value: one past INT64_MAX (only a damaged or crafted
 * dump holds such) reads as the largest, not as a negative size. */
static int64_t sat64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void header(FILE *f, const mp_profile_t *p, const mp_report_info_t *info)
{
	const mp_inputs_t *in = info->in;
	const char *type = p->strings[p->type[info->sample_index]];
	const char *unit = p->strings[p->unit[info->sample_index]];
	/* Files skipped under --keep-going are said here too: the warnings that named them went
	 * to stderr, and the report is read without them. */
	char skipped[64] = "";
	if (in->skipped)
		snprintf(skipped, sizeof(skipped), "; %zu file(s) skipped (--keep-going)",
			 in->skipped);
	fprintf(
	    f,
	    "mapprof-report: %s profile of %zu process(es) from %zu dump(s)%s; showing %s (%s)\n",
	    info->profile, in->n, in->read, skipped, type, unit);
	const mp_dump_totals_t *t = &in->totals;
	bool grow = strcmp(info->profile, "grow") == 0;
	if (grow && t->maps_dropped)
		fprintf(
		    f,
		    "Values are lower bounds: every map grow is recorded, not sampled, but %" PRIu64
		    " map events found no memory left for the profiler and are missing.\n",
		    t->maps_dropped);
	else if (grow)
		fprintf(f, "Values are exact: every map grow is recorded, not sampled.\n");
	else if (in->rate == 1 && t->dropped)
		fprintf(
		    f,
		    "Values are lower bounds: rate 1, every allocation sampled, but %" PRIu64
		    " samples found no memory left for the profiler and are missing (the totals "
		    "are exact).\n",
		    t->dropped);
	else if (in->rate == 1)
		fprintf(f, "Values are exact: rate 1, every allocation recorded.\n");
	else if (in->rate == 0)
		fprintf(f, "Sampling was off (rate 0): there are no allocation samples.\n");
	else
		fprintf(f,
			"Values are sampled estimates: rate %" PRIu64 " (one sample per %" PRIu64
			" bytes allocated on average), unbiased (per stack and size, or per object "
			"at a site of many sizes); not exact counts.\n",
			in->rate, in->rate);
	char ab[32], iu[32], pk[32];
	mp_report_value(ab, sizeof(ab), sat64(t->alloc_bytes), "bytes");
	mp_report_value(iu, sizeof(iu), sat64(t->inuse_bytes_est), "bytes");
	mp_report_value(pk, sizeof(pk), sat64(t->peak_inuse_bytes_est), "bytes");
	/* At rate 1 every live object is recorded: in use is exact, and the peak reads at most
	 * 1 KiB per thread high (each thread nets its frees before publishing them). At rate 0
	 * nothing is: in use is unknown, not 0. */
	if (in->rate == 0)
		fprintf(f,
			"Totals: %" PRIu64 " allocation calls, %" PRIu64 " frees, %s allocated "
			"(exact); in use unknown (%s); %" PRIu64 " samples, %" PRIu64 " dropped\n",
			t->alloc_calls, t->free_calls, ab,
			in->mixed_rates ? "a process did not sample" : "sampling off", t->sampled,
			t->dropped);
	else
		fprintf(f,
			"Totals: %" PRIu64 " allocation calls, %" PRIu64 " frees, %s allocated "
			"(exact); %s in use at dump, peak %s (%s); %" PRIu64 " samples, %" PRIu64
			" dropped\n",
			t->alloc_calls, t->free_calls, ab, iu, pk,
			in->rate == 1 && t->dropped ? "lower bounds: samples dropped"
			: in->rate == 1
			    ? "exact; the peak within 1 KiB per thread"
			    : "estimates; the peak is the highest the estimate reached, "
			      "which reads high where use rises and falls often",
			t->sampled, t->dropped);
	if (in->rate > 1 && t->dropped)
		fprintf(f,
			"Note: %" PRIu64 " samples found no memory left for the profiler and are "
			"missing: the estimates read low.\n",
			t->dropped);
	mp_report_inuse_note(f, in, "");
}

/* An estimate from a few samples can exceed what was allocated at all (one 64-byte sample
 * stands for `rate` bytes): unbiased, but say why the two disagree. */
void mp_report_inuse_note(FILE *f, const mp_inputs_t *in, const char *indent)
{
	const mp_dump_totals_t *t = &in->totals;
	if (in->rate > 1 && t->inuse_bytes_est > t->alloc_bytes)
		fprintf(f,
			"%sNote: the in-use estimate exceeds the bytes allocated: %" PRIu64
			" samples make a rough estimate (MAPPROF_RATE=1 counts exactly).\n",
			indent, t->sampled);
}

int mp_report_top(FILE *f, const mp_profile_t *p, const mp_report_info_t *info, int nrows)
{
	int vi = info->sample_index;
	const char *unit = p->strings[p->unit[vi]];
	rows_t r = {0};
	int64_t total = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const mp_sample_t *s = &p->samples[i];
		int64_t v = s->value[vi];
		if (v == 0)
			continue;
		total = mp_add_sat(total, v); /* estimates of a hostile dump may not fit */
		uint32_t n = mp_profile_stack_len(p, s->stack);
		const uint64_t *locs = mp_profile_stack_locs(p, s->stack);
		for (uint32_t j = 0; j < n; j++) {
			const mp_location_t *l = &p->locations[locs[j] - 1];
			uint32_t nl = l->nlines ? l->nlines : 1;
			for (uint32_t k = 0; k < nl; k++) {
				const mp_line_t *ln = l->nlines ? &p->lines[l->line_off + k] : NULL;
				row_t *row = row_get(&r, p, locs[j], ln ? ln->function_id : 0,
						     ln ? ln->line : 0);
				if (j == 0 && k == 0)
					row->flat = mp_add_sat(row->flat, v);
				if (row->last != i + 1) {
					row->cum = mp_add_sat(row->cum, v);
					row->last = i + 1;
				}
			}
		}
	}
	sort_profile = p;
	if (r.n) /* qsort of NULL is undefined, even for 0 elements */
		qsort(r.rows, r.n, sizeof(*r.rows), row_cmp);

	header(f, p, info);
	size_t show = nrows < 0 || (size_t)nrows > r.n ? r.n : (size_t)nrows;
	int64_t shown = 0;
	for (size_t i = 0; i < show; i++)
		shown = mp_add_sat(shown, r.rows[i].flat);
	char tv[32], sv[32];
	mp_report_value(tv, sizeof(tv), total, unit);
	mp_report_value(sv, sizeof(sv), shown, unit);
	fprintf(f, "Showing %zu of %zu lines, accounting for %s, %.2f%% of %s total\n", show, r.n,
		sv, total ? 100.0 * (double)shown / (double)total : 0.0, tv);
	fprintf(f, "%10s %6s %6s %10s %6s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
		"function  file:line");
	int64_t sum = 0;
	for (size_t i = 0; i < show; i++) {
		const row_t *row = &r.rows[i];
		sum = mp_add_sat(sum, row->flat);
		char fl[32], cu[32], nb[MP_FRAME_NAME_MAX];
		mp_report_value(fl, sizeof(fl), row->flat, unit);
		mp_report_value(cu, sizeof(cu), row->cum, unit);
		double d = total ? (double)total : 1.0;
		fprintf(f, "%10s %5.2f%% %5.2f%% %10s %5.2f%%  ", fl, 100.0 * (double)row->flat / d,
			100.0 * (double)sum / d, cu, 100.0 * (double)row->cum / d);
		if (row->func) {
			const mp_function_t *fn = &p->functions[row->func - 1];
			const char *file = p->strings[fn->filename];
			mp_report_put_name(f, p->strings[fn->name], false);
			if (*file ||
			    row->line) { /* a symbol-table name has neither: as pprof shows it */
				fputs("  ", f);
				mp_report_put_name(f, *file ? file : "??", false);
				fprintf(f, ":%" PRId64, row->line);
			}
			fputc('\n', f);
		} else {
			mp_report_put_name(f, mp_report_frame_name(p, row->loc, 0, nb, sizeof(nb)),
					   false);
			fputc('\n', f);
		}
	}
	free(r.rows);
	mp_htab_free(&r.index);
	return ferror(f) ? MP_EIO : MP_OK;
}
