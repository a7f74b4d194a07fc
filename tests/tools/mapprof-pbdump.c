// SPDX-License-Identifier: MIT
/* mapprof-pbdump: decodes a gzip-compressed pprof profile with the same protobuf-c code the
 * analyzer encodes with, and prints it as text. Default: every field, ids and all (the golden
 * files). --stacks: one line per sample, "v1 v2 ... | labels | leaf;...;root" with each frame
 * as function@file:line (inlined frames expanded), for tests that check sites by name. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile profile_t;

static const char *str(const profile_t *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "<bad string index>";
}

static void labels(const profile_t *p, const Perftools__Profiles__Sample *s)
{
	for (size_t l = 0; l < s->n_label; l++) {
		const Perftools__Profiles__Label *lb = s->label[l];
		if (lb->str)
			printf("%s%s=%s", l ? " " : "", str(p, lb->key), str(p, lb->str));
		else
			printf("%s%s=%" PRId64 "%s%s", l ? " " : "", str(p, lb->key), lb->num,
			       lb->num_unit ? "" : "", lb->num_unit ? str(p, lb->num_unit) : "");
	}
}

static const Perftools__Profiles__Location *loc(const profile_t *p, uint64_t id)
{
	/* the analyzer numbers locations 1..n in order; fall back to a search */
	if (id && id <= p->n_location && p->location[id - 1]->id == id)
		return p->location[id - 1];
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	return NULL;
}

static const Perftools__Profiles__Function *func(const profile_t *p, uint64_t id)
{
	if (id && id <= p->n_function && p->function[id - 1]->id == id)
		return p->function[id - 1];
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	return NULL;
}

static void dump_all(const profile_t *p)
{
	printf("sample_types:");
	for (size_t i = 0; i < p->n_sample_type; i++)
		printf(" %s/%s", str(p, p->sample_type[i]->type), str(p, p->sample_type[i]->unit));
	printf("\ndefault_sample_type: %s\n", str(p, p->default_sample_type));
	if (p->period_type)
		printf("period_type: %s/%s\n", str(p, p->period_type->type),
		       str(p, p->period_type->unit));
	printf("period: %" PRId64 "\ntime_nanos: %" PRId64 "\nduration_nanos: %" PRId64 "\n",
	       p->period, p->time_nanos, p->duration_nanos);
	for (size_t i = 0; i < p->n_comment; i++)
		printf("comment: %s\n", str(p, p->comment[i]));
	printf("drop_frames: %s\nkeep_frames: %s\n", str(p, p->drop_frames),
	       str(p, p->keep_frames));
	for (size_t i = 0; i < p->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = p->mapping[i];
		printf("mapping %" PRIu64 ": 0x%" PRIx64 "-0x%" PRIx64 " offset 0x%" PRIx64
		       " file %s build_id %s functions %d filenames %d lines %d inlines %d\n",
		       m->id, m->memory_start, m->memory_limit, m->file_offset, str(p, m->filename),
		       str(p, m->build_id), m->has_functions, m->has_filenames, m->has_line_numbers,
		       m->has_inline_frames);
	}
	for (size_t i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];
		printf("location %" PRIu64 ": mapping %" PRIu64 " address 0x%" PRIx64, l->id,
		       l->mapping_id, l->address);
		for (size_t k = 0; k < l->n_line; k++)
			printf(" line(function %" PRIu64 " line %" PRId64 ")",
			       l->line[k]->function_id, l->line[k]->line);
		printf("\n");
	}
	for (size_t i = 0; i < p->n_function; i++) {
		const Perftools__Profiles__Function *f = p->function[i];
		printf("function %" PRIu64 ": %s system %s file %s start %" PRId64 "\n", f->id,
		       str(p, f->name), str(p, f->system_name), str(p, f->filename), f->start_line);
	}
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		printf("sample:");
		for (size_t v = 0; v < s->n_value; v++)
			printf(" %" PRId64, s->value[v]);
		printf(" | ");
		labels(p, s);
		printf(" | locations");
		for (size_t k = 0; k < s->n_location_id; k++)
			printf(" %" PRIu64, s->location_id[k]);
		printf("\n");
	}
	printf("strings: %zu, first \"%s\"\n", p->n_string_table,
	       p->n_string_table ? p->string_table[0] : "(none)");
}

static void dump_stacks(const profile_t *p)
{
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		for (size_t v = 0; v < s->n_value; v++)
			printf("%s%" PRId64, v ? " " : "", s->value[v]);
		printf(" | ");
		labels(p, s);
		printf(" | ");
		for (size_t k = 0; k < s->n_location_id; k++) {
			const Perftools__Profiles__Location *l = loc(p, s->location_id[k]);
			if (!l) {
				printf("%s<bad location>", k ? ";" : "");
				continue;
			}
			if (!l->n_line)
				printf("%s0x%" PRIx64, k ? ";" : "", l->address);
			for (size_t j = 0; j < l->n_line; j++) {
				const Perftools__Profiles__Function *f =
				    func(p, l->line[j]->function_id);
				printf("%s%s@%s:%" PRId64, k || j ? ";" : "",
				       f ? str(p, f->name) : "<bad function>",
				       f ? str(p, f->filename) : "", l->line[j]->line);
			}
		}
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	int stacks = argc == 3 && strcmp(argv[1], "--stacks") == 0;
	if (argc != 2 + stacks) {
		fprintf(stderr, "usage: mapprof-pbdump [--stacks] PROFILE.pb.gz\n");
		return 1;
	}
	gzFile gz = gzopen(argv[1 + stacks], "rb");
	if (!gz) {
		perror(argv[1 + stacks]);
		return 3;
	}
	size_t cap = 1 << 20, len = 0;
	uint8_t *buf = malloc(cap);
	int n;
	while (buf && (n = gzread(gz, buf + len, (unsigned)(cap - len))) > 0) {
		len += (size_t)n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	gzclose(gz);
	profile_t *p = buf ? perftools__profiles__profile__unpack(NULL, len, buf) : NULL;
	if (!p) {
		fprintf(stderr, "mapprof-pbdump: %s: not a profile\n", argv[1 + stacks]);
		return 2;
	}
	if (stacks)
		dump_stacks(p);
	else
		dump_all(p);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(buf);
	return 0;
}
