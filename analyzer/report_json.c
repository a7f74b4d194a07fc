// SPDX-License-Identifier: MIT
/* --json: the profile for scripts. One object: what the numbers are (profile, rate, exact),
 * the sample types, the exact totals, and the samples with their values, labels and stacks
 * (leaf first, inlined functions expanded and marked). Keys are stable; see report_json.c's
 * writer below for the whole shape. */
#include "report.h"

#include <inttypes.h>
#include <string.h>

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static void frame(FILE *f, const mp_profile_t *p, uint64_t loc, uint32_t k, int last)
{
	const mp_location_t *l = &p->locations[loc - 1];
	char buf[96];
	fputs("{\"function\":", f);
	jstr(f, mp_report_frame_name(p, loc, k, buf, sizeof(buf)));
	if (k < l->nlines) {
		const mp_line_t *ln = &p->lines[l->line_off + k];
		fputs(",\"file\":", f);
		jstr(f, p->strings[p->functions[ln->function_id - 1].filename]);
		fprintf(f, ",\"line\":%" PRId64, ln->line);
	}
	fprintf(f, ",\"address\":\"0x%" PRIx64 "\"", l->address);
	if (l->mapping_id) {
		fputs(",\"object\":", f);
		jstr(f, p->strings[p->mappings[l->mapping_id - 1].filename]);
	}
	fprintf(f, ",\"inlined\":%s}%s", k + 1 < l->nlines ? "true" : "false", last ? "" : ",");
}

int mp_report_json(FILE *f, const mp_profile_t *p, const mp_report_info_t *info)
{
	const mp_inputs_t *in = info->in;
	int grow = strcmp(info->profile, "grow") == 0;
	fprintf(f, "{\"profile\":\"%s\",\"rate\":%" PRIu64 ",\"exact\":%s,\"processes\":%zu,",
		info->profile, in->rate, grow || in->rate == 1 ? "true" : "false", in->n);
	fputs("\"sample_types\":[", f);
	for (size_t i = 0; i < p->ntypes; i++) {
		fputs(i ? ",{\"type\":" : "{\"type\":", f);
		jstr(f, p->strings[p->type[i]]);
		fputs(",\"unit\":", f);
		jstr(f, p->strings[p->unit[i]]);
		fputc('}', f);
	}
	fputs("],\"default_sample_type\":", f);
	jstr(f, p->strings[p->default_type]);
	const mp_dump_totals_t *t = &in->totals;
	fprintf(f,
		",\"totals\":{\"alloc_calls\":%" PRIu64 ",\"free_calls\":%" PRIu64
		",\"alloc_bytes\":%" PRIu64 ",\"sampled\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"inuse_bytes_est\":%" PRIu64 ",\"peak_inuse_bytes_est\":%" PRIu64
		",\"threads\":%" PRIu64 "},\n\"samples\":[",
		t->alloc_calls, t->free_calls, t->alloc_bytes, t->sampled, t->dropped,
		t->inuse_bytes_est, t->peak_inuse_bytes_est, t->threads);
	for (size_t i = 0; i < p->nsamples; i++) {
		const mp_sample_t *s = &p->samples[i];
		fputs(i ? ",\n{\"values\":[" : "\n{\"values\":[", f);
		for (size_t v = 0; v < p->ntypes; v++)
			fprintf(f, "%s%" PRId64, v ? "," : "", s->value[v]);
		fputs("],\"labels\":{", f);
		for (int l = 0; l < s->nlabels; l++) {
			if (l)
				fputc(',', f);
			jstr(f, p->strings[s->label[l].key]);
			fputc(':', f);
			if (s->label[l].str)
				jstr(f, p->strings[s->label[l].str]);
			else
				fprintf(f, "%" PRId64, s->label[l].num);
		}
		fputs("},\"stack\":[", f);
		uint32_t n = mp_profile_stack_len(p, s->stack);
		const uint64_t *locs = mp_profile_stack_locs(p, s->stack);
		for (uint32_t j = 0; j < n; j++) {
			const mp_location_t *l = &p->locations[locs[j] - 1];
			uint32_t nl = l->nlines ? l->nlines : 1;
			for (uint32_t k = 0; k < nl; k++)
				frame(f, p, locs[j], k, j + 1 == n && k + 1 == nl);
		}
		fputs("]}", f);
	}
	fputs("\n]}\n", f);
	return ferror(f) ? MP_EIO : MP_OK;
}
