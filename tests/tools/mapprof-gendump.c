// SPDX-License-Identifier: MIT
/* mapprof-gendump: writes a syntactically valid dump with N sample buckets over K stacks whose
 * pcs lie inside a real binary (--exe: symbolization is exercised) or inside a made-up object
 * that does not exist on disk (--fake-exe: addresses only, machine independent, for goldens).
 * Deterministic for a given --seed. Used by the benchmark, the golden files and fuzz seeds. */
#include <gelf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump_writer.h"

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* splitmix64: fixed sequence per seed on every platform */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

typedef struct {
	uint64_t lo, size;
} func_t;

typedef struct {
	uint64_t text_lo, text_hi, text_off; /* ELF virtual addresses of the PF_X segment */
	uint8_t bid[64];
	uint32_t bidlen;
	func_t *funcs;
	size_t nfuncs;
} elfinfo_t;

static int read_elf(const char *path, elfinfo_t *e)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t nph;
	if (!elf || elf_getphdrnum(elf, &nph) != 0) {
		fprintf(stderr, "mapprof-gendump: %s: not an ELF file\n", path);
		return -1;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && !e->text_hi) {
			e->text_lo = ph.p_vaddr;
			e->text_hi = ph.p_vaddr + ph.p_memsz;
			e->text_off = ph.p_offset;
		}
	}
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		if (sh.sh_type == SHT_NOTE) {
			size_t off = 0, name_off, desc_off;
			GElf_Nhdr nh;
			while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0)
				if (nh.n_type == NT_GNU_BUILD_ID && nh.n_descsz <= sizeof(e->bid)) {
					memcpy(e->bid, (char *)data->d_buf + desc_off, nh.n_descsz);
					e->bidlen = nh.n_descsz;
				}
		} else if (sh.sh_type == SHT_SYMTAB) {
			size_t n = sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1);
			e->funcs = calloc(n + 1, sizeof(*e->funcs));
			for (size_t i = 0; i < n; i++) {
				GElf_Sym sym;
				if (gelf_getsym(data, (int)i, &sym) &&
				    GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_size > 1 &&
				    sym.st_value >= e->text_lo && sym.st_value < e->text_hi)
					e->funcs[e->nfuncs++] = (func_t){sym.st_value, sym.st_size};
			}
		}
	}
	elf_end(elf);
	close(fd);
	if (!e->text_hi) {
		fprintf(stderr, "mapprof-gendump: %s: no executable segment\n", path);
		return -1;
	}
	return 0;
}

/* A return address: one past some byte inside a function (or the segment without symbols). */
static uint64_t random_pc(const elfinfo_t *e)
{
	if (e->nfuncs) {
		const func_t *f = &e->funcs[rnd() % e->nfuncs];
		return f->lo + 1 + rnd() % (f->size - 1);
	}
	return e->text_lo + 1 + rnd() % (e->text_hi - e->text_lo - 1);
}

static int parse_hex(const char *s, uint8_t *out, uint32_t *len)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > 64)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = (uint32_t)(n / 2);
	return 0;
}

static const char usage[] =
    "usage: mapprof-gendump [options] -o FILE\n"
    "  --exe PATH           take pcs from this ELF file (symbolizable)\n"
    "  --fake-exe PATH      a made-up object at PATH (need not exist; default)\n"
    "  --samples N          sample buckets (default 1000)\n"
    "  --stacks K           distinct stacks (default 100)\n"
    "  --depth D            maximum frames per stack (default 16, at most 256)\n"
    "  --grows N            MAP_GROWS entries (default 0)\n"
    "  --sites N            MAP_SITES entries (default 0)\n"
    "  --unloaded N         UNLOADED entries over the executable's range, and STACK_KEYS\n"
    "  --mixed N            the first N samples hold many sizes (size 0, MIXED_SAMPLES)\n"
    "  --rate R             HEADER rate (default 1)\n"
    "  --pid P --seq S --start-ns T --dump-ns T   process identity\n"
    "  --bias B             load bias (default 0x555555554000 for --exe, 0 for fake)\n"
    "  --build-id HEX       recorded build ID (default: the file's, or 0123...ef)\n"
    "  --seed S             random seed (default 1)\n";

int main(int argc, char **argv)
{
	const char *out = NULL, *exe = NULL, *fake = "/nonexistent/mapprof-golden/app";
	uint64_t nsamples = 1000, nstacks = 100, depth = 16, ngrows = 0, nsites = 0, rate = 1;
	uint64_t nunloaded = 0, nmixed = 0;
	uint64_t pid = 1000, seq = 0, seed = 1, bias = UINT64_MAX;
	int64_t start_ns = 1700000000000000000ll, dump_ns = 1700000001000000000ll;
	const char *bidhex = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
		if (OPT("-o"))
			out = v;
		else if (OPT("--exe"))
			exe = v;
		else if (OPT("--fake-exe"))
			fake = v;
		else if (OPT("--samples"))
			nsamples = strtoull(v, NULL, 0);
		else if (OPT("--stacks"))
			nstacks = strtoull(v, NULL, 0);
		else if (OPT("--depth"))
			depth = strtoull(v, NULL, 0);
		else if (OPT("--grows"))
			ngrows = strtoull(v, NULL, 0);
		else if (OPT("--sites"))
			nsites = strtoull(v, NULL, 0);
		else if (OPT("--unloaded"))
			nunloaded = strtoull(v, NULL, 0);
		else if (OPT("--mixed"))
			nmixed = strtoull(v, NULL, 0);
		else if (OPT("--rate"))
			rate = strtoull(v, NULL, 0);
		else if (OPT("--pid"))
			pid = strtoull(v, NULL, 0);
		else if (OPT("--seq"))
			seq = strtoull(v, NULL, 0);
		else if (OPT("--start-ns"))
			start_ns = strtoll(v, NULL, 0);
		else if (OPT("--dump-ns"))
			dump_ns = strtoll(v, NULL, 0);
		else if (OPT("--bias"))
			bias = strtoull(v, NULL, 0);
		else if (OPT("--build-id"))
			bidhex = v;
		else if (OPT("--seed"))
			seed = strtoull(v, NULL, 0);
		else {
			fputs(usage, stderr);
			return 1;
		}
#undef OPT
	}
	if (!out || !nstacks || depth < 1 || depth > MP_MAX_DEPTH) {
		fputs(usage, stderr);
		return 1;
	}
	rng_state = seed;

	elfinfo_t e = {0};
	const char *path = fake;
	char real[4096];
	if (exe) {
		if (!realpath(exe, real)) {
			perror(exe);
			return 2;
		}
		path = real;
		if (read_elf(exe, &e) != 0)
			return 2;
		if (bias == UINT64_MAX)
			bias = e.text_lo < 0x400000 ? 0x555555554000ull : 0;
	} else {
		e.text_lo = 0x1000;
		e.text_hi = 0x9000;
		e.text_off = 0x1000;
		e.bidlen = 20;
		for (uint32_t i = 0; i < e.bidlen; i++)
			e.bid[i] = (uint8_t)(0x01 + 0x11 * i);
		if (bias == UINT64_MAX)
			bias = 0x400000;
	}
	if (bidhex && parse_hex(bidhex, e.bid, &e.bidlen) != 0) {
		fprintf(stderr, "mapprof-gendump: --build-id: bad hex\n");
		return 1;
	}

	mpw_t w = {0};
	mpw_file_header(&w);
	mpw_header(&w, (uint32_t)pid, seq, rate, start_ns, dump_ns, path);

	mpw_begin(&w, MP_SEC_OBJECTS);
	mpw_u32(&w, 2);
	mpw_object(&w, bias, e.text_lo + bias, e.text_hi + bias, e.text_off, path, e.bid, e.bidlen);
	/* The vDSO: a non-file object, never symbolized, never warned about. */
	mpw_object(&w, 0x7fff00000000ull, 0x7fff00001000ull, 0x7fff00002000ull, 0,
		   "linux-vdso.so.1", "", 0);
	mpw_end(&w);

	/* Earlier loads over the executable's range, unloaded in turn; every other stack was
	 * captured after one of them. */
	if (nunloaded) {
		mpw_begin(&w, MP_SEC_UNLOADED);
		mpw_u32(&w, (uint32_t)nunloaded);
		for (uint64_t i = 0; i < nunloaded; i++) {
			mpw_object(&w, bias, e.text_lo + bias, e.text_hi + bias, e.text_off,
				   "/nonexistent/unloaded.so", "", 0);
			mpw_u32(&w, (uint32_t)i + 1);
		}
		mpw_end(&w);
		mpw_begin(&w, MP_SEC_STACK_KEYS);
		mpw_u32(&w, (uint32_t)(nstacks / 2));
		for (uint64_t s = 0; s < nstacks / 2; s++) {
			mpw_u32(&w, (uint32_t)(2 * s + 1));
			mpw_u32(&w, (uint32_t)(s % (nunloaded + 1)));
		}
		mpw_end(&w);
	}

	mpw_begin(&w, MP_SEC_STACKS);
	mpw_u32(&w, (uint32_t)nstacks);
	for (uint64_t s = 0; s < nstacks; s++) {
		uint32_t n = 1 + (uint32_t)(rnd() % depth);
		mpw_u32(&w, n);
		for (uint32_t k = 0; k < n; k++)
			mpw_u64(&w, random_pc(&e) + bias);
	}
	mpw_end(&w);

	/* Bucket i: stack i % K, size in a band of its own per i / K, so (stack, size, kind) is
	 * unique as the format requires. */
	uint64_t calls = 0, bytes = 0, inuse_bytes = 0;
	mpw_begin(&w, MP_SEC_SAMPLES);
	mpw_u32(&w, (uint32_t)nsamples);
	if (nmixed > nsamples)
		nmixed = nsamples;
	uint64_t(*mixed)[2] = calloc(nmixed + 1, sizeof(*mixed)); /* alloc, inuse of each */
	for (uint64_t i = 0; i < nsamples; i++) {
		uint64_t size = 16 * (i / nstacks + 1) + rnd() % 16;
		uint32_t kind = i % 17 == 5 ? 1 + (uint32_t)(i / 17 % 3) : 0;
		uint64_t alloc = 1 + rnd() % 50, inuse = rnd() % (alloc + 1);
		if (i < nmixed) { /* objects of about `size` bytes, weighed as the shim would */
			mixed[i][0] = alloc;
			mixed[i][1] = inuse;
		}
		mpw_sample(&w, (uint32_t)(i % nstacks), kind, i < nmixed ? 0 : size, alloc, inuse);
		calls += alloc;
		bytes += alloc * size;
		inuse_bytes += inuse * size;
	}
	mpw_end(&w);
	if (nmixed) {
		mpw_begin(&w, MP_SEC_MIXED_SAMPLES);
		mpw_u32(&w, (uint32_t)nmixed);
		for (uint64_t i = 0; i < nmixed; i++) {
			uint64_t size = 16 * (i / nstacks + 1) + 8;
			mpw_u32(&w, (uint32_t)i);
			mpw_u64(&w, mixed[i][0] << MP_MIXED_OBJECTS_SHIFT);
			mpw_u64(&w, (mixed[i][0] * size) << MP_MIXED_BYTES_SHIFT);
			mpw_u64(&w, mixed[i][1] << MP_MIXED_OBJECTS_SHIFT);
			mpw_u64(&w, (mixed[i][1] * size) << MP_MIXED_BYTES_SHIFT);
		}
		mpw_end(&w);
		w.b[8] = MP_DUMP_MAJOR_MIXED; /* 2.x, as the shim writes it */
		w.b[10] = MP_DUMP_MINOR_MIXED;
	}
	free(mixed);

	mpw_totals(&w, calls, calls / 2, bytes, calls, inuse_bytes);

	mpw_begin(&w, MP_SEC_ALLOCATOR);
	mpw_u32(&w, 2);
	mpw_str(&w, "glibc.arena");
	mpw_u64(&w, 135168);
	mpw_str(&w, "glibc.uordblks");
	mpw_u64(&w, inuse_bytes);
	mpw_end(&w);

	if (ngrows) {
		mpw_begin(&w, MP_SEC_MAP_GROWS);
		mpw_u32(&w, (uint32_t)ngrows);
		for (uint64_t i = 0; i < ngrows; i++) {
			uint64_t from = 8ull << (i % 10);
			mpw_grow(&w, (uint32_t)(rnd() % nstacks), (uint16_t)(1 + i % 3),
				 (uint16_t)(i % 5 == 0), from, 2 * from, 1 + rnd() % 100,
				 from * (1 + rnd() % 4), 16 * from, rnd() % 100000);
		}
		mpw_end(&w);
	}
	if (nsites) {
		mpw_begin(&w, MP_SEC_MAP_SITES);
		mpw_u32(&w, (uint32_t)nsites);
		for (uint64_t i = 0; i < nsites; i++)
			mpw_site(&w, (uint32_t)(rnd() % nstacks), (uint16_t)(1 + i % 3), 1 + i);
		for (uint64_t i = 0; i < nsites; i++) /* 1.2: heap_grow_bytes, appended */
			mpw_u64(&w, rnd() % 64);
		for (uint64_t i = 0; i < nsites; i++) /* 1.3: turns, all of shared (mpw_site) */
			mpw_u64(&w, 1 + i + 7);
		mpw_end(&w);
		mpw_begin(&w, MP_SEC_MAP_PC_LIVE); /* 1.2: maps alive at once per site pc */
		mpw_u32(&w, (uint32_t)nsites);
		for (uint64_t i = 0; i < nsites; i++) {
			mpw_u64(&w, 0x401000 + 16 * (rnd() % 64));
			mpw_u32(&w, 0);
			mpw_u16(&w, (uint16_t)(1 + i % 3));
			mpw_u16(&w, 0);
			mpw_u64(&w, 1 + rnd() % 8);
		}
		mpw_end(&w);
	}
	mpw_finish(&w);

	FILE *f = fopen(out, "wb");
	if (!f || fwrite(w.b, 1, w.n, f) != w.n || fclose(f) != 0) {
		perror(out);
		return 3;
	}
	free(w.b);
	free(e.funcs);
	return 0;
}
