// SPDX-License-Identifier: MIT
/* --folded: collapsed stacks, `root;...;leaf value` per line, for flamegraph.pl and speedscope.
 * Inlined functions are frames of their own; samples of one stack that differ only in labels
 * (object size, map kind) are one line, and so are stacks whose text is the same. Lines follow
 * the profile's sample order (of a stack's first sample), so the output is as deterministic as
 * the profile. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void frames(FILE *f, const mp_profile_t *p, uint32_t stack)
{
	uint32_t n = mp_profile_stack_len(p, stack);
	const uint64_t *locs = mp_profile_stack_locs(p, stack);
	char buf[MP_FRAME_NAME_MAX];
	int first = 1;
	for (uint32_t j = n; j-- > 0;) { /* root first */
		const mp_location_t *l = &p->locations[locs[j] - 1];
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = nl; k-- > 0;) { /* the caller before what it inlined */
			const char *name = mp_report_frame_name(p, locs[j], k, buf, sizeof(buf));
			if (!first)
				fputc(';', f);
			first = 0;
			/* ';' separates frames, the last ' ' the value and a newline the stacks:
			 * keep ';' and newlines out of names */
			mp_report_put_name(f, name, true);
		}
	}
}

typedef struct {
	char *text; /* the frames, root first */
	int64_t value;
	size_t first; /* index of its first line: the output keeps that order */
} line_t;

static int by_text(const void *a, const void *b)
{
	const line_t *x = a, *y = b;
	int c = strcmp(x->text, y->text);
	return c ? c : (x->first > y->first) - (x->first < y->first);
}

static int by_first(const void *a, const void *b)
{
	const line_t *x = a, *y = b;
	return (x->first > y->first) - (x->first < y->first);
}

/* One line per distinct text: stacks that differ only in what the text leaves out (the call
 * lines and addresses of the same functions) are summed, as the collapsed format expects. */
int mp_report_folded(FILE *f, const mp_profile_t *p, const mp_report_info_t *info)
{
	int vi = info->sample_index;
	line_t *lines = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < p->nsamples;) {
		uint32_t stack = p->samples[i].stack;
		int64_t v = 0;
		for (; i < p->nsamples && p->samples[i].stack == stack; i++)
			v = mp_add_sat(v, p->samples[i].value[vi]);
		if (v == 0)
			continue;
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		if (!m) {
			fprintf(stderr, "mapprof-report: out of memory\n");
			exit(MP_EIO);
		}
		frames(m, p, stack);
		if (fclose(m) != 0 || !text) {
			fprintf(stderr, "mapprof-report: out of memory\n");
			exit(MP_EIO);
		}
		MP_GROW(lines, cap, n + 1);
		lines[n] = (line_t){text, v, n};
		n++;
	}
	size_t out = 0;
	if (n) { /* qsort of NULL is undefined, even for 0 elements */
		qsort(lines, n, sizeof(*lines), by_text);
		for (size_t i = 0; i < n; i++) {
			if (out && strcmp(lines[out - 1].text, lines[i].text) == 0) {
				lines[out - 1].value =
				    mp_add_sat(lines[out - 1].value, lines[i].value);
				free(lines[i].text);
			} else {
				lines[out++] = lines[i];
			}
		}
		qsort(lines, out, sizeof(*lines), by_first);
	}
	for (size_t i = 0; i < out; i++) {
		fprintf(f, "%s %" PRId64 "\n", lines[i].text, lines[i].value);
		free(lines[i].text);
	}
	free(lines);
	return ferror(f) ? MP_EIO : MP_OK;
}
