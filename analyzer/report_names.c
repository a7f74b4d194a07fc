// SPDX-License-Identifier: MIT
/* Naming shared by the text reports: values with units, frames with or without symbols. */
#include "report.h"

#include <inttypes.h>
#include <string.h>

void mp_report_value(char *buf, size_t n, int64_t v, const char *unit)
{
	static const char *bytes[] = {"B", "kB", "MB", "GB", "TB"};
	double a = (double)v;
	if (strcmp(unit, "bytes") == 0) {
		/* pprof's convention: powers of 1024 with the decimal names */
		int k = 0;
		while ((a >= 1024 || a <= -1024) && k < 4) {
			a /= 1024;
			k++;
		}
		if (k == 0)
			snprintf(buf, n, "%" PRId64 "B", v);
		else
			snprintf(buf, n, "%.2f%s", a, bytes[k]);
	} else if (strcmp(unit, "nanoseconds") == 0) {
		if (v < 1000)
			snprintf(buf, n, "%" PRId64 "ns", v);
		else if (v < 1000000)
			snprintf(buf, n, "%.2fus", a / 1e3);
		else if (v < 1000000000)
			snprintf(buf, n, "%.2fms", a / 1e6);
		else
			snprintf(buf, n, "%.2fs", a / 1e9);
	} else {
		snprintf(buf, n, "%" PRId64, v);
	}
}

const char *mp_report_frame_name(const mp_profile_t *p, uint64_t loc, uint32_t k, char *buf,
				 size_t n)
{
	const mp_location_t *l = &p->locations[loc - 1];
	if (k < l->nlines) {
		const mp_function_t *f = &p->functions[p->lines[l->line_off + k].function_id - 1];
		return p->strings[f->name];
	}
	if (l->mapping_id) {
		const mp_mapping_t *m = &p->mappings[l->mapping_id - 1];
		const char *path = p->strings[m->filename];
		const char *base = strrchr(path, '/');
		snprintf(buf, n, "%s+0x%" PRIx64, base ? base + 1 : path,
			 l->address - m->start + m->offset);
	} else {
		snprintf(buf, n, "0x%" PRIx64, l->address);
	}
	return buf;
}

void mp_report_put_name(FILE *f, const char *name, bool folded)
{
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		fputc(*c < 0x20 || *c == 0x7f ? '?' : folded && *c == ';' ? ':' : *c, f);
}
