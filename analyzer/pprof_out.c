// SPDX-License-Identifier: MIT
/* profile.proto encoding with protobuf-c, streamed through zlib. A profile of a million samples
 * would need several times its size as protobuf-c structs if built whole, so each repeated
 * element is packed on its own as one length-delimited field (the wire format makes a message
 * the concatenation of its fields, and repeated fields may come one at a time); the scalar
 * fields follow as one packed Profile that has no repeated fields set. Fields go out in field
 * number order, as a whole-message encoder would write them. Output is deterministic: fixed
 * order, and a gzip header with mtime 0, no name, OS "unix" on every platform. */
#include "pprof_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "util.h"

typedef struct {
	ProtobufCBuffer base; /* first: protobuf-c calls base.append */
	z_stream z;
	FILE *f;
	int err;	  /* 0, the failed write's errno, or EPROTO: zlib failed */
	uint8_t *scratch; /* one hand-encoded message (see write_samples) */
	size_t cap_scratch;
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
			g->err = EPROTO;
			return;
		}
		size_t n = sizeof(g->out) - g->z.avail_out;
		if (n && fwrite(g->out, 1, n, g->f) != n)
			g->err = errno ? errno : EIO;
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

/* ---- the hot repeated messages, encoded by hand ----
 * A sample or location is a handful of varints; protobuf-c's reflective packer (a size pass,
 * then a pack pass that sizes each nested label and line again) cost more than deflate did.
 * These write the exact bytes protobuf-c would (proto3: scalar fields equal to zero are left
 * out, repeated scalars are packed, fields in number order), which tests/unit/test_profile.c
 * checks against protobuf-c's own encoding of the whole profile. */

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *b, uint64_t v)
{
	while (v >= 0x80) {
		*b++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*b++ = (uint8_t)v;
	return b;
}

/* A varint field (wire type 0) when v is not zero; tag < 128 for every field used here. */
static uint8_t *put_field(uint8_t *b, unsigned field, uint64_t v)
{
	if (!v)
		return b;
	*b++ = (uint8_t)(field << 3);
	return put_varint(b, v);
}

static size_t field_len(uint64_t v)
{
	return v ? 1 + varint_len(v) : 0;
}

/* Room for n more bytes of message in g->scratch. */
static uint8_t *scratch(gzout_t *g, size_t n)
{
	MP_GROW(g->scratch, g->cap_scratch, n);
	return g->scratch;
}

static size_t label_len(const mp_label_t *l)
{
	return field_len((uint64_t)l->key) + field_len((uint64_t)l->str) +
	       field_len((uint64_t)l->num) + field_len((uint64_t)l->num_unit);
}

static void write_samples(gzout_t *g, const mp_profile_t *p)
{
	for (size_t i = 0; i < p->nsamples && !g->err; i++) {
		const mp_sample_t *s = &p->samples[i];
		uint32_t nloc = mp_profile_stack_len(p, s->stack);
		const uint64_t *locs = mp_profile_stack_locs(p, s->stack);
		size_t loc_len = 0, val_len = 0, lab_len[MP_MAX_LABELS];
		for (uint32_t k = 0; k < nloc; k++)
			loc_len += varint_len(locs[k]);
		for (size_t v = 0; v < p->ntypes; v++)
			val_len += varint_len((uint64_t)s->value[v]);
		size_t len = 0;
		if (nloc)
			len += 1 + varint_len(loc_len) + loc_len;
		if (p->ntypes)
			len += 1 + varint_len(val_len) + val_len;
		for (int l = 0; l < s->nlabels; l++) {
			lab_len[l] = label_len(&s->label[l]);
			len += 1 + varint_len(lab_len[l]) + lab_len[l];
		}
		uint8_t *start = scratch(g, 1 + 10 + len), *b = start;
		*b++ = 2 << 3 | 2; /* Profile.sample */
		b = put_varint(b, len);
		if (nloc) {
			*b++ = 1 << 3 | 2;
			b = put_varint(b, loc_len);
			for (uint32_t k = 0; k < nloc; k++)
				b = put_varint(b, locs[k]);
		}
		if (p->ntypes) {
			*b++ = 2 << 3 | 2;
			b = put_varint(b, val_len);
			for (size_t v = 0; v < p->ntypes; v++)
				b = put_varint(b, (uint64_t)s->value[v]);
		}
		for (int l = 0; l < s->nlabels; l++) {
			const mp_label_t *x = &s->label[l];
			*b++ = 3 << 3 | 2;
			b = put_varint(b, lab_len[l]);
			b = put_field(b, 1, (uint64_t)x->key);
			b = put_field(b, 2, (uint64_t)x->str);
			b = put_field(b, 3, (uint64_t)x->num);
			b = put_field(b, 4, (uint64_t)x->num_unit);
		}
		append(&g->base, (size_t)(b - start), start);
	}
}

#define MAX_LINES 64 /* per location, as pprof's own tools expect far fewer */

static void write_locations(gzout_t *g, const mp_profile_t *p)
{
	size_t line_len[MAX_LINES];
	for (size_t i = 0; i < p->nlocations && !g->err; i++) {
		const mp_location_t *l = &p->locations[i];
		const mp_line_t *lines = p->lines + l->line_off;
		size_t n = l->nlines < MAX_LINES ? l->nlines : MAX_LINES;
		size_t len = field_len(i + 1) + field_len(l->mapping_id) + field_len(l->address);
		for (size_t k = 0; k < n; k++) {
			line_len[k] =
			    field_len(lines[k].function_id) + field_len((uint64_t)lines[k].line);
			len += 1 + varint_len(line_len[k]) + line_len[k];
		}
		uint8_t *start = scratch(g, 1 + 10 + len), *b = start;
		*b++ = 4 << 3 | 2; /* Profile.location */
		b = put_varint(b, len);
		b = put_field(b, 1, i + 1);
		b = put_field(b, 2, l->mapping_id);
		b = put_field(b, 3, l->address);
		for (size_t k = 0; k < n; k++) {
			*b++ = 4 << 3 | 2;
			b = put_varint(b, line_len[k]);
			b = put_field(b, 1, lines[k].function_id);
			b = put_field(b, 2, (uint64_t)lines[k].line);
		}
		append(&g->base, (size_t)(b - start), start);
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
	free(g->scratch);
	int err = g->err;
	free(g);
	if (err || ferror(f)) {
		fprintf(stderr, "mapprof-report: %s: write failed: %s\n", name,
			err == EPROTO ? "compression error" : strerror(err ? err : EIO));
		return MP_EIO;
	}
	return MP_OK;
}
