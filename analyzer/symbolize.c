// SPDX-License-Identifier: MIT
/* Symbolization with elfutils (libdwfl for ELF, symbol tables and separate debug files; libdw
 * for DWARF scopes), never hand-written DWARF. Each distinct object gets its own Dwfl with the
 * one module reported at bias 0, so one load serves every process that mapped it, whatever its
 * ASLR bias. C++ names are demangled by libstdc++'s __cxa_demangle, looked up with dlopen at the
 * first mangled name: the analyzer stays a C program with no C++ runtime linked in (elfutils
 * 0.188 exports no demangler); without libstdc++ names stay mangled, which pprof users can still
 * read. Rust's (v0, _R..., and the legacy _ZN...17h<hash>E, whose hash it drops) by libiberty's
 * rust_demangle, linked statically (Debian packages no shared libiberty). */
#include "symbolize.h"
#include "inputs.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <limits.h>
#include <unistd.h>

#include "dwarf_index.h"
#include "dwarf_scope.h"
#include "symtab.h"
#include "util.h"

typedef struct {
	char *path;
	uint8_t *build_id;
	uint32_t build_id_len;
	Dwfl *dwfl;
	Dwfl_Module *mod; /* NULL: unsymbolized */
	Dwarf_Addr bias;  /* the module's own bias in its Dwfl (0 as reported) */
	bool has_dwarf;
	bool said_split; /* its split DWARF was not found: said once */
	/* A file at path, but another build than the process ran (build ID, or modified since it
	 * started): its names are not the code's. */
	bool stale;
	mp_dwidx_t *idx;      /* function ranges per CU, built as CUs are met */
	mp_dwscope_t *scopes; /* scopes per CU, for names without a linkage name */
	mp_symtab_t *syms;    /* the symbol table by address, built at the first lookup */
	/* What dwarf_frames reads from each function DIE, by DIE offset: attribute lookups
	 * (dwarf_attr_integrate follows abstract origins) were most of symbolization's cost, and
	 * the same functions and inlined instances recur at many addresses. */
	struct die_info *dies;
	size_t ndies, cap_dies;
	mp_htab_t die_index;
} obj_t;

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

struct mp_symbolizer {
	obj_t *objs;
	size_t nobjs, cap_objs;
	mp_htab_t obj_index;

	/* Demangled names by mangled name: the same function is met at many addresses. */
	char **mangled, **demangled;
	size_t ndm, cap_dm, cap_dm2;
	char **scoped; /* names built by mp_dwscope_name, owned */
	size_t nscoped, cap_scoped;
	mp_htab_t dm_index;
	/* Source paths made absolute (joined to their unit's compile directory). */
	char **paths;
	size_t npaths, cap_paths;
	mp_htab_t path_index;
	int demangler_state;	    /* 0 not tried, 1 loaded, -1 unavailable */
	const struct mp_inputs *in; /* the dumps: when the processes that ran each object began */
	void *libstdcxx;
	cxa_demangle_fn demangle;
};

/* Whether path is there but not a regular file: a FIFO there blocks the open for ever. */
static bool odd_file(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
		return false;
	fprintf(stderr,
		"mapprof-report: warning: %s: not a regular file; its debug information is not "
		"read\n",
		path);
	return true;
}

/* dwfl's standard lookup of a separate debug file (.gnu_debuglink's name, or NAME.debug
 * without one, beside the object, in its .debug/ and under /usr/lib/debug, and
 * /usr/lib/debug/.build-id), after a look at the
 * candidates: one that is not a regular file (a FIFO put where prog.debug was) hung the report
 * in dwfl's open (black-box QA). Then no debug file is read for the object. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	char path[PATH_MAX];
	const unsigned char *id = NULL;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &id, &vaddr);
	if (n > 1) {
		size_t at =
		    (size_t)snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
		for (int i = 1; i < n && at + 3 < sizeof(path); i++, at += 2)
			snprintf(path + at, sizeof(path) - at, "%02x", id[i]);
		snprintf(path + at, sizeof(path) - at, ".debug");
		if (odd_file(path))
			return -1;
	}
	const char *slash = file_name ? strrchr(file_name, '/') : NULL;
	const char *link = debuglink_file;
	char own[256]; /* without a .gnu_debuglink, libdw looks for NAME.debug the same ways */
	if (!link && slash &&
	    (size_t)snprintf(own, sizeof(own), "%s.debug", slash + 1) < sizeof(own))
		link = own;
	if (link && slash) {
		int dir = (int)(slash - file_name);
		static const char *const fmt[] = {"%.*s/%s", "%.*s/.debug/%s",
						  "/usr/lib/debug%.*s/%s"};
		for (size_t i = 0; i < sizeof(fmt) / sizeof(*fmt); i++) {
			snprintf(path, sizeof(path), fmt[i], dir, file_name, link);
			if (odd_file(path))
				return -1;
		}
	}
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

mp_symbolizer_t *mp_symbolize_new(const mp_inputs_t *in)
{
	/* libdwfl asks debuginfod servers for missing debug info when DEBUGINFOD_URLS is set
	 * (Debian sets it system-wide): a report must not stall on the network, so it stays offline
	 * unless MAPPROF_DEBUGINFOD=1 says otherwise. */
	const char *allow = getenv("MAPPROF_DEBUGINFOD");
	if (!allow || strcmp(allow, "1") != 0)
		unsetenv("DEBUGINFOD_URLS");
	mp_symbolizer_t *s = mp_xcalloc(1, sizeof(mp_symbolizer_t));
	s->in = in;
	return s;
}

void mp_symbolize_free(mp_symbolizer_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nobjs; i++) {
		mp_dwidx_free(s->objs[i].idx);
		mp_dwscope_free(s->objs[i].scopes);
		mp_symtab_free(s->objs[i].syms);
		free(s->objs[i].dies);
		mp_htab_free(&s->objs[i].die_index);
		if (s->objs[i].dwfl)
			dwfl_end(s->objs[i].dwfl);
		free(s->objs[i].path);
		free(s->objs[i].build_id);
	}
	free(s->objs);
	mp_htab_free(&s->obj_index);
	for (size_t i = 0; i < s->nscoped; i++)
		free(s->scoped[i]);
	free(s->scoped);
	for (size_t i = 0; i < s->ndm; i++) {
		free(s->mangled[i]);
		free(s->demangled[i]);
	}
	free(s->mangled);
	free(s->demangled);
	mp_htab_free(&s->dm_index);
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	mp_htab_free(&s->path_index);
	if (s->libstdcxx)
		dlclose(s->libstdcxx);
	free(s);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The earliest start of the processes that had path loaded (0: none known). */
static int64_t first_start_with(const mp_inputs_t *in, const char *path)
{
	int64_t first = 0;
	for (size_t i = 0; in && i < in->n; i++) {
		const mp_dump_t *d = &in->dumps[i];
		if (d->start_ns <= 0 || (first && d->start_ns >= first))
			continue;
		for (uint32_t k = 0; k < d->nobjects; k++)
			if (d->objects[k].path && !strcmp(d->objects[k].path, path)) {
				first = d->start_ns;
				break;
			}
	}
	return first;
}

/* An object without a build ID cannot be told from a rebuilt one by its contents: one modified
 * after a process that ran it started may not be what that process ran (rebuilt between two
 * runs reported together, or since: its names would be another build's, silently). Other
 * processes do not count. Cautious: a plugin built while its process ran, then loaded, reads
 * as changed too. */
static bool changed_since(const obj_t *o, const mp_inputs_t *in)
{
	struct stat st;
	if (o->build_id_len || stat(o->path, &st) != 0)
		return false;
	int64_t since = first_start_with(in, o->path);
	int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (since <= 0 || m <= since)
		return false;
	fprintf(stderr,
		"mapprof-report: warning: %s: modified after a profiled process that ran it "
		"started, and no build ID tells whether it is the same build; left unsymbolized "
		"(if it is, touch -d it to an earlier time)\n",
		o->path);
	return true;
}

/* Whether the file's executable PT_LOAD segment is the one each process that loaded path
 * without a build ID ran (its dump's start, limit and offset, less the load bias). A check an
 * object without a build ID has besides its mtime, which a copy keeps (cp -p, tar, rsync -t):
 * another build's code is another size or place, nearly always. Objects with a build ID are
 * checked by it. */
static bool segment_matches(Elf *elf, const char *path, const mp_inputs_t *in)
{
	size_t n;
	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return true; /* nothing to compare: dwfl read it, so let it be */
	for (size_t i = 0; in && i < in->n; i++) {
		const mp_dump_t *d = &in->dumps[i];
		for (uint32_t k = 0; k < d->nobjects; k++) {
			const mp_dump_object_t *ob = &d->objects[k];
			if (ob->build_id_len || !ob->path || strcmp(ob->path, path) != 0 ||
			    ob->limit <= ob->start)
				continue;
			bool found = false;
			for (size_t j = 0; j < n && !found; j++) {
				GElf_Phdr ph;
				found = gelf_getphdr(elf, (int)j, &ph) && ph.p_type == PT_LOAD &&
					(ph.p_flags & PF_X) && ph.p_offset == ob->offset &&
					ph.p_vaddr + ob->bias == ob->start &&
					ph.p_vaddr + ph.p_memsz + ob->bias == ob->limit;
			}
			if (!found)
				return false;
		}
	}
	return true;
}

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2 /* the gABI's; elf.h has it from glibc 2.38 */
#endif

/* Whether a debug section of elf is compressed with zstd, which libdw reads only from elfutils
 * 0.189 on (Debian 12 has 0.188): where it cannot, the DWARF is just not there, silently. */
static bool zstd_debug(Elf *elf)
{
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		GElf_Chdr ch;
		if (name && !strncmp(name, ".debug_", 7) && gelf_getchdr(scn, &ch) &&
		    ch.ch_type == ELFCOMPRESS_ZSTD)
			return true;
	}
	return false;
}

/* The same for the separate debug file dwfl looked at (.gnu_debuglink, /usr/lib/debug). */
static bool zstd_debug_file(Dwfl_Module *mod)
{
	const char *debugfile = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
	if (!debugfile)
		return false;
	int fd = open(debugfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	bool z = zstd_debug(elf);
	elf_end(elf);
	close(fd);
	return z;
}

/* Opens the file and checks its build ID; on any failure the object stays unsymbolized. */
static void open_obj(obj_t *o, const mp_inputs_t *in)
{
	/* Names that are not files ("linux-vdso.so.1", "", "[anon]"): nothing to warn about. */
	if (!strchr(o->path, '/'))
		return;
	/* The kernel names a file deleted while mapped "PATH (deleted)": an upgrade or an install
	 * that replaced it, perhaps with the same build, which its build ID then tells. */
	static const char deleted[] = " (deleted)";
	size_t len = strlen(o->path), dl = sizeof(deleted) - 1;
	char file[PATH_MAX];
	snprintf(file, sizeof(file), "%s", len < sizeof(file) ? o->path : "");
	if (access(file, R_OK) != 0 && o->build_id_len && len > dl && len < sizeof(file) &&
	    strcmp(o->path + len - dl, deleted) == 0)
		file[len - dl] = '\0';
	if (access(file, R_OK) != 0) {
		fprintf(
		    stderr,
		    "mapprof-report: warning: %s: not readable; its frames keep their addresses\n",
		    o->path);
		return;
	}
	/* A FIFO (or a device) put where the object was would block or stream the open below. */
	struct stat st;
	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr,
			"mapprof-report: warning: %s: not a regular file; its frames keep their "
			"addresses\n",
			o->path);
		return;
	}
	if (changed_since(o, in)) {
		o->stale = true;
		return;
	}
	o->dwfl = dwfl_begin(&callbacks);
	if (!o->dwfl)
		return;
	dwfl_report_begin(o->dwfl);
	const char *base = strrchr(file, '/');
	Dwfl_Module *mod = dwfl_report_elf(o->dwfl, base + 1, file, -1, 0, false);
	dwfl_report_end(o->dwfl, NULL, NULL);
	if (!mod) {
		fprintf(stderr,
			"mapprof-report: warning: %s: %s; its frames keep their addresses\n",
			o->path, dwfl_errmsg(-1));
		return;
	}
	if (o->build_id_len) {
		const unsigned char *bits = NULL;
		GElf_Addr vaddr;
		int n = dwfl_module_build_id(mod, &bits, &vaddr);
		if (n != (int)o->build_id_len || memcmp(bits, o->build_id, (size_t)n) != 0) {
			char want[129], have[129];
			hex(want, o->build_id, o->build_id_len);
			hex(have, n > 0 ? bits : (const unsigned char *)"", n > 0 ? (size_t)n : 0);
			fprintf(
			    stderr,
			    "mapprof-report: warning: %s: build ID %s on disk differs from %s in "
			    "the dump (rebuilt since?); left unsymbolized\n",
			    o->path, n > 0 ? have : "(none)", want);
			o->stale = true;
			return;
		}
	}
	Elf *elf = dwfl_module_getelf(mod, &o->bias);
	if (!elf)
		return;
	if (!o->build_id_len && !segment_matches(elf, o->path, in)) {
		fprintf(
		    stderr,
		    "mapprof-report: warning: %s: its code on disk is not where or as large as in "
		    "the process that ran it, and no build ID tells more (another build?); left "
		    "unsymbolized\n",
		    o->path);
		o->stale = true;
		return;
	}
	Dwarf_Addr dbias;
	o->has_dwarf = dwfl_module_getdwarf(mod, &dbias) != NULL;
	if (o->has_dwarf)
		o->idx = mp_dwidx_new();
	else if (zstd_debug(elf) || zstd_debug_file(mod))
		fprintf(stderr,
			"mapprof-report: warning: %s: its debug information is compressed with "
			"zstd, which this libdw cannot read (elfutils 0.189 or later can): "
			"functions only, no file:line or inlined frames (objcopy "
			"--decompress-debug-sections, or build with -gz=zlib)\n",
			o->path);
	o->mod = mod;
}

typedef struct {
	const mp_symbolizer_t *s;
	const char *path;
	const uint8_t *bid;
	uint32_t bidlen;
} obj_key_t;

static int obj_eq(const void *ctx, uint32_t i)
{
	const obj_key_t *k = ctx;
	const obj_t *o = &k->s->objs[i];
	return strcmp(o->path, k->path) == 0 && o->build_id_len == k->bidlen &&
	       memcmp(o->build_id, k->bid, k->bidlen) == 0;
}

int mp_symbolize_object(mp_symbolizer_t *s, const char *path, const uint8_t *build_id,
			uint32_t build_id_len)
{
	uint64_t h = mp_hash_bytes(path, strlen(path), mp_hash_bytes(build_id, build_id_len, 3));
	obj_key_t k = {s, path, build_id, build_id_len};
	uint32_t i = mp_htab_find(&s->obj_index, h, obj_eq, &k);
	if (i != MP_HTAB_NONE)
		return (int)i;
	MP_GROW(s->objs, s->cap_objs, s->nobjs + 1);
	obj_t *o = &s->objs[s->nobjs];
	memset(o, 0, sizeof(*o));
	o->path = mp_xstrdup(path);
	o->build_id = mp_xmalloc(build_id_len);
	memcpy(o->build_id, build_id, build_id_len);
	o->build_id_len = build_id_len;
	open_obj(o, s->in);
	mp_htab_insert(&s->obj_index, h, (uint32_t)s->nobjs);
	return (int)s->nobjs++;
}

int mp_symbolize_count(const mp_symbolizer_t *s)
{
	return (int)s->nobjs;
}

const char *mp_symbolize_path(const mp_symbolizer_t *s, int obj)
{
	return s->objs[obj].path;
}

bool mp_symbolize_defines(mp_symbolizer_t *s, int obj, const char *name)
{
	obj_t *o = &s->objs[obj];
	if (!o->mod || o->stale)
		return false;
	if (!o->syms)
		o->syms = mp_symtab_new(o->mod);
	return mp_symtab_defines(o->syms, name);
}

bool mp_symbolize_binds_dynamically(mp_symbolizer_t *s, int obj, const char *name)
{
	obj_t *o = &s->objs[obj];
	if (!o->mod || o->stale)
		return false;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(o->mod, &bias);
	Elf_Scn *scn = NULL;
	while (elf && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL))
			continue;
		Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
		GElf_Shdr symsh;
		Elf_Data *data = elf_getdata(scn, NULL), *syms;
		if (!symscn || !gelf_getshdr(symscn, &symsh) || symsh.sh_type != SHT_DYNSYM ||
		    !data || !sh.sh_entsize || !(syms = elf_getdata(symscn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela ra;
			GElf_Rel r;
			uint64_t info;
			if (sh.sh_type == SHT_RELA) {
				if (!gelf_getrela(data, (int)i, &ra))
					break;
				info = ra.r_info;
			} else {
				if (!gelf_getrel(data, (int)i, &r))
					break;
				info = r.r_info;
			}
			GElf_Sym sym;
			const char *nm;
			if (GELF_R_SYM(info) && gelf_getsym(syms, (int)GELF_R_SYM(info), &sym) &&
			    (nm = elf_strptr(elf, symsh.sh_link, sym.st_name)) && !strcmp(nm, name))
				return true;
		}
	}
	return false;
}

bool mp_symbolize_has_dwarf(const mp_symbolizer_t *s, int obj)
{
	return s->objs[obj].mod != NULL && s->objs[obj].has_dwarf;
}

/* ---- names ---- */

typedef struct {
	const mp_symbolizer_t *s;
	const char *name;
} dm_key_t;

static int dm_eq(const void *ctx, uint32_t i)
{
	const dm_key_t *k = ctx;
	return strcmp(k->s->mangled[i], k->name) == 0;
}

static const char *demangle(mp_symbolizer_t *s, const char *name)
{
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return name;
	if (s->demangler_state == 0 && name[1] == 'Z') {
		s->demangler_state = -1;
		s->libstdcxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (s->libstdcxx) {
			*(void **)&s->demangle = dlsym(s->libstdcxx, "__cxa_demangle");
			if (s->demangle)
				s->demangler_state = 1;
		}
	}
	uint64_t h = mp_hash_bytes(name, strlen(name), 4);
	dm_key_t k = {s, name};
	uint32_t i = mp_htab_find(&s->dm_index, h, dm_eq, &k);
	if (i != MP_HTAB_NONE)
		return s->demangled[i] ? s->demangled[i] : s->mangled[i];
	/* Rust's first: its legacy names are valid C++ ones too, with the hash as a last part */
	char *d = rust_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	if (!d && name[1] == 'Z' && s->demangler_state == 1) {
		int status = -1;
		d = s->demangle(name, NULL, NULL, &status);
		if (status != 0) {
			free(d);
			d = NULL;
		}
	}
	MP_GROW(s->mangled, s->cap_dm, s->ndm + 1);
	MP_GROW(s->demangled, s->cap_dm2, s->ndm + 1);
	s->mangled[s->ndm] = mp_xstrdup(name);
	s->demangled[s->ndm] = d;
	mp_htab_insert(&s->dm_index, h, (uint32_t)s->ndm++);
	return d ? d : name;
}

static const char *attr_string(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute a;
	return dwarf_formstring(dwarf_attr_integrate(die, name, &a));
}

/* A function DIE's names: the linkage name (mangled) when there is one, else DW_AT_name. */
static void die_names(mp_symbolizer_t *s, obj_t *o, Dwarf_Die *die, mp_sym_frame_t *f)
{
	const char *link = attr_string(die, DW_AT_linkage_name);
	if (!link)
		link = attr_string(die, DW_AT_MIPS_linkage_name);
	const char *plain = attr_string(die, DW_AT_name);
	/* Without a linkage name, no system name: pprof takes a function whose system name is
	 * its name for one not demangled yet and strips every (...) and <...> from it, so that
	 * "(anonymous namespace)::fill" read "::fill" (what "" means in profile.proto too). */
	f->system_name = link ? link : "";
	f->name = link ? demangle(s, link) : plain;
	/* No linkage name (an anonymous namespace's function, a local class's method): the bare
	 * name would merge Alpha::make and Beta::make; qualified by its scopes instead. The
	 * outermost frame still prefers the symbol's name (mp_symbolize: system_name). */
	if (!link && plain && !o->scopes)
		o->scopes = mp_dwscope_new();
	char *q = link || !plain ? NULL : mp_dwscope_name(o->scopes, die, plain);
	if (q) {
		MP_GROW(s->scoped, s->cap_scoped, s->nscoped + 1);
		s->scoped[s->nscoped++] = q;
		f->name = q;
	}
	const char *file = dwarf_decl_file(die);
	f->file = file ? file : "";
	int line = 0;
	f->start_line = dwarf_decl_line(die, &line) == 0 ? line : 0;
}

typedef struct die_info {
	Dwarf_Off off;
	mp_sym_frame_t names; /* name, system_name, decl file and start line; line unused */
	bool inlined;	      /* DW_TAG_inlined_subroutine: the call site below is set */
	int64_t call_line;
	const char *call_file; /* NULL when absent */
} die_info_t;

typedef struct {
	const obj_t *o;
	Dwarf_Off off;
} die_key_t;

static int die_eq(const void *ctx, uint32_t i)
{
	const die_key_t *k = ctx;
	return k->o->dies[i].off == k->off;
}

/* The cached facts of a function DIE of the CU whose file table is files (may be NULL). The
 * result is a copy: the cache array moves as it grows. */
static die_info_t die_info(mp_symbolizer_t *s, obj_t *o, Dwarf_Die *die, Dwarf_Files *files,
			   size_t nfiles)
{
	/* By where the DIE is, not its offset: DIEs of a .dwo file have offsets of their own. */
	die_key_t k = {o, (Dwarf_Off)(uintptr_t)die->addr};
	uint64_t h = mp_hash_u64(k.off);
	uint32_t i = mp_htab_find(&o->die_index, h, die_eq, &k);
	if (i != MP_HTAB_NONE)
		return o->dies[i];
	die_info_t d = {.off = k.off};
	die_names(s, o, die, &d.names);
	d.inlined = dwarf_tag(die) == DW_TAG_inlined_subroutine;
	if (d.inlined) {
		Dwarf_Attribute a;
		Dwarf_Word v;
		d.call_line =
		    dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &v) == 0 ? (int64_t)v : 0;
		if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &v) == 0 &&
		    v < nfiles)
			d.call_file = dwarf_filesrc(files, v, NULL, NULL);
	}
	MP_GROW(o->dies, o->cap_dies, o->ndies + 1);
	o->dies[o->ndies] = d;
	mp_htab_insert(&o->die_index, h, (uint32_t)o->ndies++);
	return d;
}

typedef struct {
	const mp_symbolizer_t *s;
	const char *path;
} path_key_t;

static int path_eq(const void *ctx, uint32_t i)
{
	const path_key_t *k = ctx;
	return strcmp(k->s->paths[i], k->path) == 0;
}

/* A source path that starts "./" or "../", relative to the unit's compile directory (clang's
 * DWARF 5 names the files of its directory "." so, headers too), joined to it: pprof's -list
 * then finds the file from anywhere. Other relative paths ("src/a.c", as gcc names the file it
 * was given) are the ones the user typed and stay short; absolute ones stay as they are. */
static const char *absolute(mp_symbolizer_t *s, Dwarf_Die *cu, Dwarf_Die *unit, const char *file)
{
	if (!file || file[0] != '.' || (file[1] != '/' && (file[1] != '.' || file[2] != '/')))
		return file;
	const char *dir = attr_string(cu, DW_AT_comp_dir); /* a split unit's is its skeleton's */
	if (!dir)
		dir = attr_string(unit, DW_AT_comp_dir);
	if (!dir || dir[0] != '/')
		return file;
	while (file[0] == '.' && file[1] == '/')
		file += 2;
	size_t n = strlen(dir) + strlen(file) + 2;
	char *joined = mp_xmalloc(n);
	snprintf(joined, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", file);
	uint64_t h = mp_hash_bytes(joined, strlen(joined), 5);
	path_key_t k = {s, joined};
	uint32_t i = mp_htab_find(&s->path_index, h, path_eq, &k);
	if (i != MP_HTAB_NONE) {
		free(joined);
		return s->paths[i];
	}
	MP_GROW(s->paths, s->cap_paths, s->npaths + 1);
	s->paths[s->npaths] = joined;
	mp_htab_insert(&s->path_index, h, (uint32_t)s->npaths++);
	return joined;
}

/* The inline chain at addr, from the CU's range index (dwarf_index.c): frame 0 is the innermost
 * function, with its line from the line table; each outer frame's line is the DW_AT_call_line
 * (and file) of the inlined instance inside it; the chain ends at the subprogram. */
static int dwarf_frames(mp_symbolizer_t *s, obj_t *o, Dwarf_Addr addr, mp_sym_frame_t *out, int max)
{
	Dwarf_Addr cubias;
	Dwarf_Die *cudie = mp_dwidx_cu(o->idx, o->mod, addr, &cubias);
	if (!cudie)
		return 0;
	bool missing = false;
	Dwarf_Die unit_mem, *unit = mp_dwidx_unit(o->mod, cudie, &unit_mem, &missing);
	if (missing && !o->said_split) {
		/* Its lines are in the skeleton, its functions and inlined calls are not. */
		o->said_split = true;
		fprintf(
		    stderr,
		    "mapprof-report: warning: %s: its split DWARF (-gsplit-dwarf .dwo files) was "
		    "not found: no inlined frames (a .dwp package is not read by this libdw)\n",
		    o->path);
	}
	Dwarf_Die chain[MP_SYM_MAX_INLINE];
	const Dwarf_Die *cut;
	int n = mp_dwidx_chain(o->idx, unit, addr - cubias, chain,
			       max < MP_SYM_MAX_INLINE ? max : MP_SYM_MAX_INLINE, &cut);
	if (n <= 0)
		return 0;
	Dwarf_Files *files = NULL; /* of the unit whose DW_AT_call_file indices these are */
	size_t nfiles = 0;
	if (dwarf_getsrcfiles(unit, &files, &nfiles) != 0)
		files = NULL;

	int k = 0;
	die_info_t inner = {0}; /* chain[k - 1] */
	for (; k < n; k++) {
		mp_sym_frame_t *f = &out[k];
		if (cut && k == n - 1) { /* the inlined frames between were left out */
			Dwarf_Die mem = *cut;
			inner = die_info(s, o, &mem, files, nfiles);
		}
		die_info_t d = die_info(s, o, &chain[k], files, nfiles);
		*f = d.names;
		if (k == 0 && !(cut && n == 1)) { /* the address's own line, unless cut away */
			const char *file;
			int line = mp_dwidx_line(cudie, addr - cubias, &file);
			f->line = line;
			if (file)
				f->file = file;
		} else {
			f->line = inner.call_line;
			if (inner.call_file)
				f->file = inner.call_file;
		}
		f->file = absolute(s, cudie, unit, f->file);
		if (!d.inlined) {
			k++;
			break;
		}
		inner = d;
	}
	return k;
}

int mp_symbolize(mp_symbolizer_t *s, int obj, uint64_t vaddr, mp_sym_frame_t *out, int max)
{
	obj_t *o = &s->objs[obj];
	if (!o->mod || max <= 0)
		return 0;
	Dwarf_Addr addr = vaddr + o->bias;
	int n = o->has_dwarf ? dwarf_frames(s, o, addr, out, max) : 0;
	/* The ELF symbol names the outermost function when DWARF has nothing (stripped objects,
	 * code without debug info) or gave a nameless DIE. */
	const char *symname = NULL;
	/* Also when the DIE has no linkage name (no system_name: die_names): a lambda or a
	 * method of a local class is "operator()" or "go" there, while its symbol is qualified
	 * ("parse()::{lambda(int)#1}::operator()(int) const"). */
	bool unlinked =
	    n > 0 && out[n - 1].name && (!out[n - 1].system_name || !out[n - 1].system_name[0]);
	if (n == 0 || !out[n - 1].name || unlinked) {
		if (!o->syms)
			o->syms = mp_symtab_new(o->mod);
		symname = mp_symtab_at(o->syms, addr);
	}
	if (unlinked && symname && !strncmp(symname, "_Z", 2)) {
		/* without GCC's clone suffixes (".constprop.0.isra.0", ".cold"): the name is the
		 * function's, as the DWARF name was */
		char base[1024];
		size_t len = strcspn(symname, ".");
		if (len < sizeof(base)) {
			memcpy(base, symname, len);
			base[len] = 0;
			const char *d = demangle(s, base);
			if (d != base) { /* demangled (and cached) */
				out[n - 1].name = d;
				out[n - 1].system_name = symname;
			}
		}
	}
	if (n == 0) {
		if (!symname)
			return 0;
		out[0] = (mp_sym_frame_t){demangle(s, symname), symname, "", 0, 0};
		/* A line only from a CU that holds addr (an assembly CU has lines but no
		 * subprogram). Not dwfl_module_getsrc: past the end of every CU it answers with the
		 * last line before addr, so crt1's _start, placed after an -O2 main's CU, read the
		 * last line of main's unit (basic_string.h:795). */
		Dwarf_Addr cubias;
		Dwarf_Die *cudie = o->has_dwarf ? mp_dwidx_cu(o->idx, o->mod, addr, &cubias) : NULL;
		const char *file = NULL;
		int line = cudie ? mp_dwidx_line(cudie, addr - cubias, &file) : 0;
		if (file) {
			Dwarf_Die unit_mem, *unit = mp_dwidx_unit(o->mod, cudie, &unit_mem, NULL);
			out[0].file = absolute(s, cudie, unit, file);
			out[0].line = line;
		}
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (!out[i].name) {
			out[i].name = i == n - 1 && symname ? demangle(s, symname) : "??";
			out[i].system_name = i == n - 1 && symname ? symname : "??";
		}
		if (!out[i].system_name)
			out[i].system_name = out[i].name;
	}
	return n;
}
