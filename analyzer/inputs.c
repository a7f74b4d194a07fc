// SPDX-License-Identifier: MIT
/* Reading the dumps of one report and fitting them together. A process is (pid, start_ns):
 * successive dumps of it are cumulative snapshots, so only the highest seq is kept (summing
 * them would count every allocation once per snapshot); a pid reused by exec or by a later
 * process has another start_ns and is another process. Different processes are summed. */
#include "inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int same_process(const mp_dump_t *a, const mp_dump_t *b)
{
	return a->pid == b->pid && a->start_ns == b->start_ns;
}

/* Keeps d if it is the latest snapshot of its process; takes ownership either way. Of two
 * files that claim the same snapshot (pid, start, seq), the one with the smaller content hash
 * stays, whatever the order given (whether they may differ at all is check_copies'). */
static void keep_latest(mp_inputs_t *in, mp_dump_t *d)
{
	for (size_t i = 0; i < in->n; i++) {
		mp_dump_t *k = &in->dumps[i];
		if (!same_process(k, d))
			continue;
		if (d->seq > k->seq || (d->seq == k->seq && d->content_hash < k->content_hash)) {
			mp_dump_free(k);
			*k = *d;
		} else {
			mp_dump_free(d); /* older snapshot, or the same dump given twice */
		}
		return;
	}
	MP_GROW(in->dumps, in->cap, in->n + 1);
	in->dumps[in->n++] = *d;
}

/* Every dump read, for check_copies (the dumps themselves are dropped as they are superseded). */
typedef struct {
	uint32_t pid;
	int64_t start_ns;
	uint64_t seq, hash;
	char *name;
} seen_t;

static int seen_cmp(const void *a, const void *b)
{
	const seen_t *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Two files of one snapshot must be copies of one another: if their bytes differ, one was
 * altered. An input error, or with keep_going a warning (keep_latest's choice stands). Checked
 * over every dump read, so the outcome does not depend on the order given either. */
/* Also counts the distinct snapshots in *distinct: a file given twice, or a copy of one, is
 * one dump read; and in *altered the other contents of a snapshot that keep_going left out,
 * which count as skipped files. */
static int check_copies(seen_t *seen, size_t n, bool keep_going, size_t *distinct, size_t *altered)
{
	if (n)
		qsort(seen, n, sizeof(*seen), seen_cmp);
	*distinct = n ? 1 : 0;
	for (size_t i = 1; i < n; i++) {
		const seen_t *a = &seen[i - 1], *b = &seen[i];
		if (a->pid != b->pid || a->start_ns != b->start_ns || a->seq != b->seq) {
			++*distinct;
			continue;
		}
		if (a->hash == b->hash)
			continue;
		++*altered;
		fprintf(
		    stderr,
		    "mapprof-report: %s%s and %s are both dump %llu of process %u but differ%s\n",
		    keep_going ? "warning: " : "", a->name, b->name, (unsigned long long)a->seq,
		    a->pid, keep_going ? ": one is kept, chosen by content" : " (one was altered)");
		if (!keep_going)
			return MP_EINPUT;
	}
	return MP_OK;
}

static int dump_cmp(const void *a, const void *b)
{
	const mp_dump_t *x = a, *y = b;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return 0; /* (pid, start_ns) is unique after keep_latest */
}

/* keep_going: only the dumps at the rate most of them share (ties: the rate of the earliest
 * one) stay, the others are skipped with a warning each; a dump with sampling off (rate 0)
 * stays only if no dump was sampled. in is sorted: the choice does not depend on the order
 * the files were given in. */
/* The distinct snapshots of d's process among the dumps read (seen: sorted by seen_cmp). */
static size_t snapshots_of(const mp_dump_t *d, const seen_t *seen, size_t nseen)
{
	size_t n = 0;
	for (size_t i = 0; i < nseen; i++)
		n += seen[i].pid == d->pid && seen[i].start_ns == d->start_ns &&
		     (i == 0 || seen[i - 1].pid != d->pid || seen[i - 1].start_ns != d->start_ns ||
		      seen[i - 1].seq != seen[i].seq);
	return n;
}

static void keep_one_rate(mp_inputs_t *in, const seen_t *seen, size_t nseen)
{
	uint64_t best = 0;
	size_t best_n = 0;
	for (size_t i = 0; i < in->n; i++) {
		uint64_t r = in->dumps[i].rate;
		size_t n = 0;
		for (size_t k = 0; k < in->n; k++)
			n += in->dumps[k].rate == r;
		if (r != 0 && n > best_n) {
			best = r;
			best_n = n;
		}
	}
	if (best_n == 0)
		return; /* none sampled */
	size_t kept = 0;
	for (size_t i = 0; i < in->n; i++) {
		mp_dump_t *d = &in->dumps[i];
		if (d->rate == best) {
			in->dumps[kept++] = *d;
			continue;
		}
		/* Its process goes, with every snapshot of it that was read. */
		size_t snaps = snapshots_of(d, seen, nseen);
		char more[64] = "";
		if (snaps > 1)
			snprintf(more, sizeof(more),
				 " (and %zu earlier snapshot(s) of its process)", snaps - 1);
		char how[64];
		if (d->rate)
			snprintf(how, sizeof(how), "sampled at rate %llu",
				 (unsigned long long)d->rate);
		else
			snprintf(how, sizeof(how), "sampling was off (rate 0)");
		fprintf(
		    stderr,
		    "mapprof-report: warning: skipped: %s%s: %s, the others kept at rate %llu\n",
		    d->name, more, how, (unsigned long long)best);
		mp_dump_free(d);
		in->skipped += snaps ? snaps : 1;
		in->read -= snaps ? snaps : 1;
	}
	in->n = kept;
}

static int check_rates(const mp_inputs_t *in)
{
	const mp_dump_t *first = NULL, *off = NULL;
	for (size_t i = 0; i < in->n; i++) {
		const mp_dump_t *d = &in->dumps[i];
		if (d->rate == 0) { /* sampling off: no samples, nothing to scale */
			off = off ? off : d;
			continue;
		}
		if (!first) {
			first = d;
			continue;
		}
		if (d->rate != first->rate) {
			/* Each dump's estimates are unbiased on their own, so their sum would be
			 * too; but a profile has one period, and a mix of exact (rate 1) and
			 * sampled figures would be presented as one or the other. Refusing is the
			 * honest choice. */
			fprintf(
			    stderr,
			    "mapprof-report: %s: sampled at rate %llu, but %s at rate %llu; one "
			    "profile needs one rate (report them separately, or --keep-going to "
			    "keep "
			    "the dumps at the most common rate)\n",
			    d->name, (unsigned long long)d->rate, first->name,
			    (unsigned long long)first->rate);
			return MP_EINPUT;
		}
	}
	if (off && first) {
		/* Its allocations count in the totals but are in no sample: the profile would not
		 * hold what its header says, exact or estimated. */
		fprintf(
		    stderr,
		    "mapprof-report: %s: sampling was off (rate 0), but %s was sampled at rate "
		    "%llu; its allocations would be in the totals and in no sample (report them "
		    "separately)\n",
		    off->name, first->name, (unsigned long long)first->rate);
		return MP_EINPUT;
	}
	return MP_OK;
}

/* A grow profile takes dumps of any rates: its grows are exact at every one. The totals' in-use
 * figures are not: summed over processes, they are exact only if every process recorded every
 * allocation, unbiased estimates if some sampled, and unknown if one did not sample at all.
 * in->rate, which the outputs label them by, says which, and one line says why. */
static void mixed_rates(mp_inputs_t *in)
{
	const mp_dump_t *a = NULL, *b = NULL, *off = NULL; /* a and b: at different rates */
	uint64_t worst = 1;
	for (size_t i = 0; i < in->n; i++) {
		const mp_dump_t *d = &in->dumps[i];
		if (!a)
			a = d;
		else if (!b && d->rate != a->rate)
			b = d;
		if (d->rate == 0 && !off)
			off = d;
		if (d->rate > 1 && worst == 1)
			worst = d->rate;
	}
	if (!b)
		return;
	in->mixed_rates = true;
	in->rate = off ? 0 : worst;
	if (off) {
		const mp_dump_t *on = off == a ? b : a;
		fprintf(
		    stderr,
		    "mapprof-report: warning: %s: sampling was off (rate 0), but %s was sampled "
		    "at rate %llu: the grows are exact at any rate, but the in-use totals are "
		    "unknown\n",
		    off->name, on->name, (unsigned long long)on->rate);
	} else {
		fprintf(
		    stderr,
		    "mapprof-report: warning: %s was sampled at rate %llu, %s at rate %llu: the "
		    "grows are exact at any rate, but the in-use totals are estimates\n",
		    b->name, (unsigned long long)b->rate, a->name, (unsigned long long)a->rate);
	}
}

/* Saturated: a sum that wrapped would read as a small total (a file's fields may be any value
 * the format allows). */
static void add_totals(mp_dump_totals_t *t, const mp_dump_totals_t *d)
{
	t->alloc_calls = mp_add_sat_u64(t->alloc_calls, d->alloc_calls);
	t->free_calls = mp_add_sat_u64(t->free_calls, d->free_calls);
	t->alloc_bytes = mp_add_sat_u64(t->alloc_bytes, d->alloc_bytes);
	t->sampled = mp_add_sat_u64(t->sampled, d->sampled);
	t->dropped = mp_add_sat_u64(t->dropped, d->dropped);
	t->maps_dropped = mp_add_sat_u64(t->maps_dropped, d->maps_dropped);
	t->inuse_bytes_est = mp_add_sat_u64(t->inuse_bytes_est, d->inuse_bytes_est);
	/* The peak is the highest the in-use estimate reached, which noise can carry above all
	 * the bytes the process allocated: no heap held more than that at once. But not below
	 * the in-use estimate itself, which is left as it is (unbiased; the top report notes
	 * one above the bytes allocated): a peak below the in-use figure would read as wrong.
	 * Summed over the processes: an upper bound of their joint peak. */
	uint64_t peak = d->peak_inuse_bytes_est;
	if (peak > d->alloc_bytes)
		peak = d->alloc_bytes > d->inuse_bytes_est ? d->alloc_bytes : d->inuse_bytes_est;
	t->peak_inuse_bytes_est = mp_add_sat_u64(t->peak_inuse_bytes_est, peak);
	t->threads = mp_add_sat_u64(t->threads, d->threads);
}

static void free_seen(seen_t *seen, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(seen[i].name);
	free(seen);
}

int mp_inputs_load(mp_inputs_t *in, char *const *paths, size_t npaths, bool keep_going,
		   bool check_rate)
{
	memset(in, 0, sizeof(*in));
	seen_t *seen = NULL;
	size_t nseen = 0, cap_seen = 0;
	for (size_t i = 0; i < npaths; i++) {
		mp_dump_t d;
		char err[512];
		int rc = mp_dump_read_file(paths[i], &d, err, sizeof(err));
		if (rc != MP_OK) {
			mp_dump_free(&d);
			if (!keep_going) {
				fprintf(stderr, "mapprof-report: %s\n", err);
				free_seen(seen, nseen);
				return rc;
			}
			fprintf(stderr, "mapprof-report: warning: skipped: %s\n", err);
			in->skipped++;
			continue;
		}
		in->read++;
		MP_GROW(seen, cap_seen, nseen + 1);
		seen[nseen++] =
		    (seen_t){d.pid, d.start_ns, d.seq, d.content_hash, mp_xstrdup(d.name)};
		keep_latest(in, &d);
	}
	size_t altered = 0;
	int copies = check_copies(seen, nseen, keep_going, &in->read, &altered);
	in->skipped += altered;
	if (copies != MP_OK) {
		free_seen(seen, nseen);
		return copies;
	}
	if (in->n == 0) {
		free_seen(seen, nseen);
		fprintf(stderr, "mapprof-report: no readable dumps\n");
		return MP_EINPUT;
	}
	qsort(in->dumps, in->n, sizeof(*in->dumps), dump_cmp);
	if (check_rate && keep_going)
		keep_one_rate(in, seen, nseen);
	free_seen(seen, nseen);
	if (check_rate) {
		int rc = check_rates(in);
		if (rc != MP_OK)
			return rc;
	}
	for (size_t i = 0; i < in->n; i++) {
		if (in->dumps[i].rate && !in->rate)
			in->rate = in->dumps[i].rate;
		add_totals(&in->totals, &in->dumps[i].totals);
	}
	if (!check_rate)
		mixed_rates(in);
	return MP_OK;
}

void mp_inputs_free(mp_inputs_t *in)
{
	for (size_t i = 0; i < in->n; i++)
		mp_dump_free(&in->dumps[i]);
	free(in->dumps);
	memset(in, 0, sizeof(*in));
}
