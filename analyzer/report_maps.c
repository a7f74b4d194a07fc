/* SPDX-License-Identifier: MIT */
/* --maps: the churn report as text (one block per call site, worst first, with verdicts) and,
 * with --json, the same data under stable keys: {"summary": {...}, "sites": [...]}. The model
 * and the verdict rules are in churn.c. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "churn.h"
#include "report.h"
#include "util.h"

#define MAX_TEXT_SITES 50 /* the text report stops here; --json has every site */

static const char *val(char *buf, size_t n, uint64_t v, const char *unit)
{
	mp_report_value(buf, n, v > INT64_MAX ? INT64_MAX : (int64_t)v, unit);
	return buf;
}

/* Allocator statistics that count chunks rather than bytes (mallinfo2's ordblks). */
static bool stat_is_count(const char *key)
{
	return !strcmp(key, "glibc.ordblks");
}

/* "12.3% of allocated", and how much of grow_bytes came from an allocator that does not call
 * malloc (a std::pmr resource on a buffer): not part of the bytes allocated, so not shared. */
/* The share is of the bytes the processes with map tracking on allocated: said so where some
 * had it off (the bytes allocated shown above it are every process's). */
static void bytes_share(char *out, size_t n, const mp_churn_t *c, uint64_t grow, uint64_t heap,
			double share)
{
	char a[32];
	const char *of =
	    c->with_maps < c->processes ? "allocated with map tracking on" : "allocated";
	if (heap < grow)
		snprintf(out, n, "%.1f%% of %s; %s not from malloc", 100 * share, of,
			 val(a, sizeof(a), grow - heap, "bytes"));
	else
		snprintf(out, n, "%.1f%% of %s", 100 * share, of);
}

static void summary_text(FILE *f, const mp_churn_t *c, const mp_inputs_t *in)
{
	const mp_dump_totals_t *t = &in->totals;
	char a[32], b[32], d[32];
	fprintf(f, "mapprof map churn report: %zu process%s, map tracking on in %zu", c->processes,
		c->processes == 1 ? "" : "es", c->with_maps);
	if (in->skipped) /* its warnings went to stderr: the report says it lacks them */
		fprintf(f, "; %zu file(s) skipped (--keep-going)", in->skipped);
	fputc('\n', f);
	if (in->rate == 1 && (t->dropped || t->maps_dropped))
		fputs("Figures are exact (MAPPROF_RATE=1) but for what found no memory left for "
		      "the profiler (below): in-use, maps and grows are lower bounds.\n",
		      f);
	else if (in->rate == 1)
		fputs("All figures are exact (MAPPROF_RATE=1; the peak within 1 KiB per thread).\n",
		      f);
	else if (in->rate == 0)
		fputs("Counts and grows are exact; sampling was off (MAPPROF_RATE=0), so in-use "
		      "figures are unknown.\n",
		      f);
	else
		fprintf(f,
			"Counts and grows are exact; in-use figures are unbiased estimates from "
			"samples every %" PRIu64 " bytes on average (the peak is the highest the "
			"estimate reached: it reads high where use rises and falls often).\n",
			in->rate);
	fputs("\nSummary\n", f);
	fprintf(f, "  allocation calls  %-14" PRIu64 "  frees          %" PRIu64 "\n",
		t->alloc_calls, t->free_calls);
	fprintf(f, "  bytes allocated   %-14s  peak in-use    %s    final in-use  %s\n",
		val(a, sizeof(a), t->alloc_bytes, "bytes"),
		in->rate ? val(b, sizeof(b), t->peak_inuse_bytes_est, "bytes") : "unknown",
		in->rate ? val(d, sizeof(d), t->inuse_bytes_est, "bytes") : "unknown");
	mp_report_inuse_note(f, in, "  ");
	char share[96];
	bytes_share(share, sizeof(share), c, c->grow_bytes, c->heap_grow_bytes,
		    c->tracked_bytes ? (double)c->heap_grow_bytes / (double)c->tracked_bytes : 0.0);
	fprintf(f,
		"  maps made         %-14" PRIu64 "  grows          %-10" PRIu64
		"  grow bytes    %s (%s)\n",
		c->maps, c->grows, val(a, sizeof(a), c->grow_bytes, "bytes"), share);
	if (t->maps_dropped)
		fprintf(f,
			"  not recorded      %" PRIu64
			" map events (no memory left for the profiler "
			"under the process's memory limit): maps made and grows read low\n",
			t->maps_dropped);
	if (t->dropped)
		fprintf(f,
			"  not recorded      %" PRIu64
			" samples (no memory left for the profiler under the process's memory "
			"limit): in-use reads low\n",
			t->dropped);
	if (c->nstats) {
		fputs("  allocator        ", f);
		for (size_t i = 0; i < c->nstats; i++) {
			fputs(i ? ", " : " ", f);
			mp_report_put_name(f, c->stat_keys[i], false);
			fprintf(f, "=%s",
				val(a, sizeof(a), c->stat_values[i],
				    stat_is_count(c->stat_keys[i]) ? "count" : "bytes"));
		}
		if (c->stat_processes < c->processes) /* the sums are of these only */
			fprintf(f, " (from %zu of the %zu processes)", c->stat_processes,
				c->processes);
		fputc('\n', f);
	}
}

static void site_text(FILE *f, const mp_churn_t *c, size_t rank, const mp_churn_site_t *s)
{
	char a[32], b[32], d[32];
	/* Names come from the program's files and debug information: a control character in
	 * one (a newline in a path) is shown as '?', as --top does, not let split the line. */
	fprintf(f, "\n#%zu %s  ", rank, mp_dump_kind_name(s->kind));
	mp_report_put_name(f, *s->file ? s->file : "?", false);
	fprintf(f, ":%" PRId64 "  ", s->line);
	mp_report_put_name(f, s->function, false);
	if (s->shares_line && *s->container) { /* two maps made on one line: which is this */
		char type[512];
		mp_churn_short_type(s->container, type, sizeof(type));
		fputs("  (", f);
		mp_report_put_name(f, type, false);
		fputc(')', f);
	}
	fputc('\n', f);
	char presized[160] = "";
	int at = 0;
	if (s->reserved) /* instances whose first grow was a reserve(): it counts among grows */
		at =
		    snprintf(presized, sizeof(presized), "   sized up front %" PRIu64, s->reserved);
	if (s->copies) /* instances whose bucket array came from another map */
		at += snprintf(presized + at, sizeof(presized) - (size_t)at, "   copies %" PRIu64,
			       s->copies);
	if (s->moved_out) /* instances that ended in another map than their own */
		snprintf(presized + at, sizeof(presized) - (size_t)at, "   moved out %" PRIu64,
			 s->moved_out);
	fprintf(f,
		"   instances %" PRIu64 " (live %" PRIu64 ", at most %" PRIu64
		" at once)   grows %" PRIu64 " (%.1f per instance, max %" PRIu64 ")%s\n",
		s->instances, s->live, s->max_live, s->grows,
		s->instances ? (double)s->grows / (double)s->instances : 0.0, s->max_grows,
		presized);
	fprintf(f,
		"   final size p50 <=%" PRIu64 " p90 <=%" PRIu64 " max %" PRIu64
		"   lifetime p50 <=%s p90 <=%s\n",
		s->size_p50, s->size_p90, s->max_size,
		val(a, sizeof(a), s->life_p50, "nanoseconds"),
		val(b, sizeof(b), s->life_p90, "nanoseconds"));
	char share[96], time[96];
	bytes_share(share, sizeof(share), c, s->grow_bytes, s->heap_grow_bytes,
		    s->grow_bytes_share);
	/* A grow is timed to the free of the array it replaces: a std::pmr resource frees none */
	if (s->grow_ns == 0 && s->grows > 0)
		snprintf(time, sizeof(time), "grow time not measured");
	else
		snprintf(time, sizeof(time), "grow time %s (longest %s)",
			 val(b, sizeof(b), s->grow_ns, "nanoseconds"),
			 val(d, sizeof(d), s->max_grow_ns, "nanoseconds"));
	/* The dump counts threads up to 5: 5 is "more than 4" */
	uint64_t threads = s->max_threads ? s->max_threads : 1;
	fprintf(f, "   grow bytes %s (%s)   %s   threads %" PRIu64 "%s\n",
		val(a, sizeof(a), s->grow_bytes, "bytes"), share, time, threads,
		threads >= 5 ? " or more" : "");
	for (int v = 0; v < s->nverdicts; v++) { /* they may quote names too */
		fprintf(f, "   [%s] ", mp_verdict_name(s->verdicts[v].id));
		mp_report_put_name(f, s->verdicts[v].evidence, false);
		fputs("\n      -> ", f);
		mp_report_put_name(f, s->verdicts[v].suggestion, false);
		fputc('\n', f);
	}
}

int mp_report_maps(FILE *f, const mp_churn_t *c, const mp_inputs_t *in)
{
	summary_text(f, c, in);
	if (c->with_maps == 0)
		fputs("\nNo dump had map tracking on (MAPPROF_MAPS=0?): no map sites.\n", f);
	else if (c->n == 0)
		fputs("\nNo map was seen (uthash needs mapprof/uthash.h; unordered_map needs "
		      "libstdc++ as a shared library: not -static-libstdc++).\n",
		      f);
	size_t shown = c->n < MAX_TEXT_SITES ? c->n : MAX_TEXT_SITES;
	for (size_t i = 0; i < shown; i++)
		site_text(f, c, i + 1, &c->sites[i]);
	if (shown < c->n)
		fprintf(f, "\n... %zu more sites (see --maps --json)\n", c->n - shown);
	return ferror(f) ? MP_EIO : MP_OK;
}

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	size_t n;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else if (*p < 0x80)
			fputc(*p, f);
		else if ((n = mp_utf8_len(p)) != 0) {
			fwrite(p, 1, n, f);
			p += n - 1;
		} else {
			fputs("\\ufffd", f); /* a byte of no UTF-8 sequence (a path's) */
		}
	}
	fputc('"', f);
}

static void site_json(FILE *f, const mp_churn_site_t *s)
{
	fputs("{\"kind\":", f);
	jstr(f, mp_dump_kind_name(s->kind));
	fputs(",\"function\":", f);
	jstr(f, s->function);
	fputs(",\"file\":", f);
	jstr(f, s->file);
	char type[512];
	mp_churn_short_type(s->container, type, sizeof(type));
	fputs(",\"container\":", f);
	jstr(f, type);
	fprintf(f,
		",\"line\":%" PRId64 ",\"instances\":%" PRIu64 ",\"live\":%" PRIu64
		",\"max_live\":%" PRIu64 ",\"grows\":%" PRIu64 ",\"grows_per_instance\":%.3f"
		",\"max_grows\":%" PRIu64 ",\"reserved\":%" PRIu64 ",\"copies\":%" PRIu64
		",\"moved_out\":%" PRIu64,
		s->line, s->instances, s->live, s->max_live, s->grows,
		s->instances ? (double)s->grows / (double)s->instances : 0.0, s->max_grows,
		s->reserved, s->copies, s->moved_out);
	fprintf(f,
		",\"final_size\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"max\":%" PRIu64
		"},\"lifetime_ns\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 "}",
		s->size_p50, s->size_p90, s->max_size, s->life_p50, s->life_p90);
	fprintf(f,
		",\"tiny\":%" PRIu64 ",\"shared\":%" PRIu64 ",\"turns\":%" PRIu64
		",\"noexpand\":%" PRIu64 ",\"grow_bytes\":%" PRIu64 ",\"heap_grow_bytes\":%" PRIu64
		",\"grow_bytes_share\":%.6f,\"grow_ns\":%" PRIu64 ",\"max_grow_ns\":%" PRIu64
		",\"threads\":%" PRIu64 ",\"verdicts\":[",
		s->tiny, s->shared, s->turns, s->noexpand, s->grow_bytes, s->heap_grow_bytes,
		s->grow_bytes_share, s->grow_ns, s->max_grow_ns,
		s->max_threads ? s->max_threads : 1);
	for (int v = 0; v < s->nverdicts; v++) {
		fputs(v ? ",{\"id\":" : "{\"id\":", f);
		jstr(f, mp_verdict_name(s->verdicts[v].id));
		fputs(",\"evidence\":", f);
		jstr(f, s->verdicts[v].evidence);
		fputs(",\"suggestion\":", f);
		jstr(f, s->verdicts[v].suggestion);
		fputc('}', f);
	}
	fputs("]}", f);
}

int mp_report_maps_json(FILE *f, const mp_churn_t *c, const mp_inputs_t *in)
{
	const mp_dump_totals_t *t = &in->totals;
	/* Sampling off (rate 0): nothing is known of what is in use. */
	char peak[24] = "null", now[24] = "null";
	if (in->rate) {
		snprintf(peak, sizeof(peak), "%" PRIu64, t->peak_inuse_bytes_est);
		snprintf(now, sizeof(now), "%" PRIu64, t->inuse_bytes_est);
	}
	/* Samples or map events that found no memory left for the profiler are missing (the
	 * text's "lower bounds"). */
	bool lower = t->dropped || t->maps_dropped;
	fprintf(
	    f,
	    "{\"summary\":{\"processes\":%zu,\"skipped_files\":%zu,\"map_tracking\":%zu,"
	    "\"rate\":%" PRIu64 ",\"exact\":%s,\"lower_bounds\":%s,\"alloc_calls\":%" PRIu64
	    ",\"free_calls\":%" PRIu64 ",\"alloc_bytes\":%" PRIu64 ",\"peak_inuse_bytes_est\":%s"
	    ",\"inuse_bytes_est\":%s,\"maps\":%" PRIu64 ",\"grows\":%" PRIu64
	    ",\"dropped\":%" PRIu64 ",\"maps_dropped\":%" PRIu64 ",\"grow_bytes\":%" PRIu64
	    ",\"heap_grow_bytes\":%" PRIu64 ",\"grow_ns\":%" PRIu64 ",\"duration_ns\":%" PRIu64
	    ",\"allocator\":{",
	    c->processes, in->skipped, c->with_maps, in->rate,
	    in->rate == 1 && !lower ? "true" : "false", lower ? "true" : "false", t->alloc_calls,
	    t->free_calls, t->alloc_bytes, peak, now, c->maps, c->grows, t->dropped,
	    t->maps_dropped, c->grow_bytes, c->heap_grow_bytes, c->grow_ns, c->duration_ns);
	for (size_t i = 0; i < c->nstats; i++) {
		if (i)
			fputc(',', f);
		jstr(f, c->stat_keys[i]);
		fprintf(f, ":%" PRIu64, c->stat_values[i]);
	}
	fprintf(f, "},\"allocator_processes\":%zu},\n\"sites\":[", c->stat_processes);
	for (size_t i = 0; i < c->n; i++) {
		fputs(i ? ",\n" : "\n", f);
		site_json(f, &c->sites[i]);
	}
	fputs("\n]}\n", f);
	return ferror(f) ? MP_EIO : MP_OK;
}
