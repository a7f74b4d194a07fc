// SPDX-License-Identifier: MIT
/* profile.proto encoding with protobuf-c, streamed through zlib. A profile of a million samples
 * would need several times its size as protobuf-c structs if built whole, so each repeated
 * element is packed on its own as one length-delimited field (the wire format makes a message
 * the concatenation of its fields, and repeated fields may come one at a time); the scalar
 * fields follow as one packed Profile that has no repeated fields set. Fields go out in field
 * number order, as a whole-message encoder would write them. Output is deterministic: fixed
 * order, and a gzip header with mtime 0, no name, OS "unix" on every platform. */
#include "pprof_out.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "util.h"

typedef struct {
	ProtobufCBuffer base; /* first: protobuf-c calls base.append */
	z_stream z;
	FILE *f;
	int err;
	size_t nin;
	uint8_t in[1 << 16]; /* staging: protobuf-c appends a few bytes at a time, and each
			      * deflate() call has a fixed cost far above that */
	uint8_t out[1 << 16];
} gzout_t;

static void drain(gzout_t *g, int flush)
{
	do {
		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		int rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			g->err = 1;
			return;
		}
		size_t n = sizeof(g->out) - g->z.avail_out;
		if (n && fwrite(g->out, 1, n, g->f) != n)
			g->err = 1;
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && g->z.avail_in));
}

static void gz_feed(gzout_t *g, const uint8_t *data, size_t len, int flush)
{
	g->z.next_in = (Bytef *)data;
	g->z.avail_in = (uInt)len;
	do
		drain(g, flush);
	while (g->z.avail_in && !g->err);
}

static void append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	gzout_t *g = (gzout_t *)b;
	if (g->err)
		return;
	if (g->nin + len > sizeof(g->in)) {
		gz_feed(g, g->in, g->nin, Z_NO_FLUSH);
		g->nin = 0;
	}
	if (len > sizeof(g->in)) {
		gz_feed(g, data, len, Z_NO_FLUSH);
		return;
	}
	memcpy(g->in + g->nin, data, len);
	g->nin += len;
}

static void varint(gzout_t *g, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	append(&g->base, n, b);
}

/* One element of a repeated message field: tag (wire type 2), length, message. */
static void field_msg(gzout_t *g, unsigned field, const ProtobufCMessage *m)
{
	varint(g, (uint64_t)field << 3 | 2);
	varint(g, protobuf_c_message_get_packed_size(m));
	protobuf_c_message_pack_to_buffer(m, &g->base);
}

static void field_bytes(gzout_t *g, unsigned field, const char *s)
{
	size_t n = strlen(s);
	varint(g, (uint64_t)field << 3 | 2);
	varint(g, n);
	append(&g->base, n, (const uint8_t *)s);
}

static void write_samples(gzout_t *g, const mp_profile_t *p)
{
	Perftools__Profiles__Label labels[MP_MAX_LABELS];
	Perftools__Profiles__Label *lp[MP_MAX_LABELS];
	int64_t values[MP_MAX_VALUES];
	for (size_t i = 0; i < p->nsamples && !g->err; i++) {
		const mp_sample_t *s = &p->samples[i];
		Perftools__Profiles__Sample m = PERFTOOLS__PROFILES__SAMPLE__INIT;
		m.n_location_id = mp_profile_stack_len(p, s->stack);
		m.location_id = (uint64_t *)mp_profile_stack_locs(p, s->stack);
		memcpy(values, s->value, sizeof(values));
		m.n_value = p->ntypes;
		m.value = values;
		for (int l = 0; l < s->nlabels; l++) {
			perftools__profiles__label__init(&labels[l]);
			labels[l].key = s->label[l].key;
			labels[l].str = s->label[l].str;
			labels[l].num = s->label[l].num;
			labels[l].num_unit = s->label[l].num_unit;
			lp[l] = &labels[l];
		}
		m.n_label = s->nlabels;
		m.label = lp;
		field_msg(g, 2, &m.base);
	}
}

static void write_locations(gzout_t *g, const mp_profile_t *p)
{
	Perftools__Profiles__Line lines[64];
	Perftools__Profiles__Line *lp[64];
	for (size_t i = 0; i < p->nlocations && !g->err; i++) {
		const mp_location_t *l = &p->locations[i];
		Perftools__Profiles__Location m = PERFTOOLS__PROFILES__LOCATION__INIT;
		m.id = i + 1;
		m.mapping_id = l->mapping_id;
		m.address = l->address;
		size_t n = l->nlines < 64 ? l->nlines : 64;
		for (size_t k = 0; k < n; k++) {
			perftools__profiles__line__init(&lines[k]);
			lines[k].function_id = p->lines[l->line_off + k].function_id;
			lines[k].line = p->lines[l->line_off + k].line;
			lp[k] = &lines[k];
		}
		m.n_line = n;
		m.line = lp;
		field_msg(g, 4, &m.base);
	}
}

static void write_body(gzout_t *g, const mp_profile_t *p)
{
	for (size_t i = 0; i < p->ntypes; i++) {
		Perftools__Profiles__ValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
		vt.type = p->type[i];
		vt.unit = p->unit[i];
		field_msg(g, 1, &vt.base);
	}
	write_samples(g, p);
	for (size_t i = 0; i < p->nmappings; i++) {
		const mp_mapping_t *mp = &p->mappings[i];
		Perftools__Profiles__Mapping m = PERFTOOLS__PROFILES__MAPPING__INIT;
		m.id = i + 1;
		m.memory_start = mp->start;
		m.memory_limit = mp->limit;
		m.file_offset = mp->offset;
		m.filename = mp->filename;
		m.build_id = mp->build_id;
		m.has_functions = mp->has_functions;
		m.has_filenames = mp->has_filenames;
		m.has_line_numbers = mp->has_line_numbers;
		m.has_inline_frames = mp->has_inline_frames;
		field_msg(g, 3, &m.base);
	}
	write_locations(g, p);
	for (size_t i = 0; i < p->nfunctions; i++) {
		const mp_function_t *f = &p->functions[i];
		Perftools__Profiles__Function m = PERFTOOLS__PROFILES__FUNCTION__INIT;
		m.id = i + 1;
		m.name = f->name;
		m.system_name = f->system_name;
		m.filename = f->filename;
		m.start_line = f->start_line;
		field_msg(g, 5, &m.base);
	}
	for (size_t i = 0; i < p->nstrings; i++)
		field_bytes(g, 6, p->strings[i]);

	Perftools__Profiles__Profile tail = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	pt.type = p->period_type;
	pt.unit = p->period_unit;
	tail.time_nanos = p->time_nanos;
	tail.duration_nanos = p->duration_nanos;
	tail.period_type = &pt;
	tail.period = p->period;
	tail.n_comment = p->ncomments;
	tail.comment = p->comments;
	tail.default_sample_type = p->default_type;
	protobuf_c_message_pack_to_buffer(&tail.base, &g->base);
}

int mp_pprof_write(const mp_profile_t *p, FILE *f, const char *name)
{
	gzout_t *g = mp_xcalloc(1, sizeof(*g));
	g->base.append = append;
	g->f = f;
	/* Level 1, as Go's runtime/pprof writes its profiles (gzip.BestSpeed): at zlib's default
	 * level 6 compression took half the time of a 1M-sample report, for ~15% smaller files. */
	if (deflateInit2(&g->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		fprintf(stderr, "mapprof-report: %s: zlib initialisation failed\n", name);
		free(g);
		return MP_EIO;
	}
	gz_header h;
	memset(&h, 0, sizeof(h));
	h.os = 3; /* unix, whatever zlib was built for */
	deflateSetHeader(&g->z, &h);
	write_body(g, p);
	if (!g->err)
		gz_feed(g, g->in, g->nin, Z_FINISH);
	deflateEnd(&g->z);
	int err = g->err;
	free(g);
	if (err || ferror(f)) {
		fprintf(stderr, "mapprof-report: %s: write failed\n", name);
		return MP_EIO;
	}
	return MP_OK;
}
