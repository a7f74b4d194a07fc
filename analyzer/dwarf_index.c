// SPDX-License-Identifier: MIT
/* Function and inline range index per compilation unit (see dwarf_index.h). The CU's DIE tree
 * is walked once; every subprogram, inlined subroutine and entry point with code contributes
 * one entry per address range, with the index of its nearest function ancestor. Ranges of a
 * DIE tree nest (a child's code lies inside its parent's), so among the entries that contain an
 * address the innermost one starts last; entries are sorted by start (ties: outer first) and a
 * lookup scans back from the last start <= addr to the first entry that contains it. The chain
 * then follows the parent indices. */
#include "dwarf_index.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

typedef struct {
	Dwarf_Addr lo, hi;
	uint32_t node; /* index into nodes */
	uint32_t depth;
} range_t;

typedef struct {
	Dwarf_Die die;
	int32_t parent;	 /* nearest function ancestor, -1 at the top */
	uint32_t r0, nr; /* its ranges: ranges[r0, r0 + nr) until they are sorted */
	bool inlined;	 /* an inlined instance, not a function of its own */
} node_t;

typedef struct {
	Dwarf_Off cu;
	node_t *nodes;
	size_t nnodes, cap_nodes;
	range_t *ranges;
	size_t nranges, cap_ranges;
} cu_t;

/* A CU's address range, for objects without .debug_aranges (see mp_dwidx_cu). */
typedef struct {
	Dwarf_Addr lo, hi; /* module addresses (bias applied) */
	Dwarf_Die *cu;	   /* owned by the Dwfl */
	Dwarf_Addr bias;
} cu_range_t;

struct mp_dwidx {
	cu_t *cus;
	size_t ncus, cap_cus;
	mp_htab_t index;
	cu_range_t *cu_ranges;
	size_t ncu_ranges, cap_cu_ranges;
	bool cu_ranges_built;
	Dwarf_Addr code_lo; /* no code below (see find_code_lo); 0 until known */
	bool code_lo_known;
};

/* In an array sorted by lo (the first member of range_t and cu_range_t): the index after the
 * last element whose lo <= addr (0 if none). */
_Static_assert(offsetof(range_t, lo) == 0 && offsetof(cu_range_t, lo) == 0, "lo first");
static size_t after_lo(const void *base, size_t n, size_t size, Dwarf_Addr addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (*(const Dwarf_Addr *)((const char *)base + mid * size) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

mp_dwidx_t *mp_dwidx_new(void)
{
	return mp_xcalloc(1, sizeof(mp_dwidx_t));
}

void mp_dwidx_free(mp_dwidx_t *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->ncus; i++) {
		free(x->cus[i].nodes);
		free(x->cus[i].ranges);
	}
	free(x->cus);
	free(x->cu_ranges);
	mp_htab_free(&x->index);
	free(x);
}

static int is_function(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

/* The lowest address of the object's code: where its first executable segment starts, past the
 * ELF and program headers when that segment maps them (linked without -z separate-code). GNU ld
 * gives a function that --gc-sections removed DW_AT_low_pc 0 (1 in .debug_ranges) and keeps its
 * size, and the address ranges of its unit too: [0, size) would claim the object's first code,
 * naming code without debug info (crt1's _start, a file built without -g) after a function that
 * is not in the binary. A range that starts below is none. */
static void find_code_lo(mp_dwidx_t *x, Dwfl_Module *mod)
{
	x->code_lo_known = true;
	x->code_lo = 1; /* without program headers: still no code at 0 (the ELF header is there) */
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Ehdr eh;
	size_t n;
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n) != 0)
		return;
	Dwarf_Addr lo = (Dwarf_Addr)-1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		Dwarf_Addr start = ph.p_vaddr;
		if (ph.p_offset == 0) {
			uint64_t hdrs = eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize;
			start += hdrs > eh.e_ehsize ? hdrs : eh.e_ehsize;
		}
		if (start < lo)
			lo = start;
	}
	if (lo != (Dwarf_Addr)-1 && lo > x->code_lo)
		x->code_lo = lo;
}

/* A function's or a unit's range that can hold code (not a removed function's). */
static bool code_range(const mp_dwidx_t *x, Dwarf_Addr lo, Dwarf_Addr hi)
{
	return hi > lo && lo >= x->code_lo;
}

/* Whether an inlined instance's range starts inside one of its function's (c->nodes[parent]). */
static bool inside(const cu_t *c, int32_t parent, Dwarf_Addr lo)
{
	const node_t *p = &c->nodes[parent];
	for (uint32_t i = p->r0; i < p->r0 + p->nr; i++)
		if (lo >= c->ranges[i].lo && lo < c->ranges[i].hi)
			return true;
	return false;
}

/* Depth-first over the children of die; `parent` is the nearest function node above them. A
 * function whose every range is no code (removed by --gc-sections) takes its subtree along:
 * in DWARF 5 the linker zeroes the base address of a range list, not the offsets after it,
 * so an inlined instance inside a removed function reads as code at the object's start. An
 * inlined instance is also held to its function's ranges, for the same reason. */
static void walk(const mp_dwidx_t *x, cu_t *c, Dwarf_Die *die, int32_t parent, uint32_t depth)
{
	Dwarf_Die child;
	if (dwarf_child(die, &child) != 0)
		return;
	do {
		int32_t here = parent;
		int tag = dwarf_tag(&child);
		if (is_function(tag)) {
			bool inlined = tag == DW_TAG_inlined_subroutine;
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			uint32_t node = (uint32_t)c->nnodes, r0 = (uint32_t)c->nranges;
			int seen = 0, kept = 0;
			while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0) {
				if (hi <= lo)
					continue;
				seen++;
				if (!code_range(x, lo, hi) ||
				    (inlined && parent >= 0 && !inside(c, parent, lo)))
					continue;
				MP_GROW(c->ranges, c->cap_ranges, c->nranges + 1);
				c->ranges[c->nranges++] = (range_t){lo, hi, node, depth};
				kept++;
			}
			if (seen && !kept)
				continue; /* removed code, and everything inside it */
			if (kept) {
				MP_GROW(c->nodes, c->cap_nodes, c->nnodes + 1);
				c->nodes[c->nnodes++] =
				    (node_t){child, parent, r0, (uint32_t)kept, inlined};
				here = (int32_t)node;
			}
		}
		if (dwarf_haschildren(&child))
			walk(x, c, &child, here, depth + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
}

static int range_cmp(const void *a, const void *b)
{
	const range_t *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

typedef struct {
	const mp_dwidx_t *x;
	Dwarf_Off cu;
} cu_key_t;

static int cu_eq(const void *ctx, uint32_t i)
{
	const cu_key_t *k = ctx;
	return k->x->cus[i].cu == k->cu;
}

static cu_t *cu_get(mp_dwidx_t *x, Dwarf_Die *cudie)
{
	/* The CU itself, not its DIE offset: a split unit's offsets are in its .dwo file and
	 * may equal those of another CU in the object. */
	Dwarf_Off off = (Dwarf_Off)(uintptr_t)cudie->cu;
	uint64_t h = mp_hash_u64(off);
	cu_key_t k = {x, off};
	uint32_t i = mp_htab_find(&x->index, h, cu_eq, &k);
	if (i != MP_HTAB_NONE)
		return &x->cus[i];
	MP_GROW(x->cus, x->cap_cus, x->ncus + 1);
	cu_t *c = &x->cus[x->ncus];
	*c = (cu_t){.cu = off};
	walk(x, c, cudie, -1, 0);
	if (c->nranges)
		qsort(c->ranges, c->nranges, sizeof(*c->ranges), range_cmp);
	mp_htab_insert(&x->index, h, (uint32_t)x->ncus);
	x->ncus++;
	return c;
}

int mp_dwidx_chain(mp_dwidx_t *x, Dwarf_Die *cudie, Dwarf_Addr addr, Dwarf_Die *out, int max,
		   const Dwarf_Die **cut)
{
	cu_t *c = cu_get(x, cudie);
	size_t lo = after_lo(c->ranges, c->nranges, sizeof(*c->ranges), addr);
	int32_t node = -1;
	for (size_t i = lo; i-- > 0;) {
		if (addr < c->ranges[i].hi) {
			node = (int32_t)c->ranges[i].node;
			break;
		}
		/* an outermost function that ends before addr: nothing before it can contain addr
		 * either (only its own ancestors could, and it has none) */
		if (c->nodes[c->ranges[i].node].parent < 0)
			break;
	}
	/* The chain ends at the function that holds the code: the first that is not inlined (a
	 * nested function's enclosing one is no caller of it). */
	int len = 0;
	for (int32_t i = node; i >= 0; i = c->nodes[i].parent) {
		len++;
		if (!c->nodes[i].inlined)
			break;
	}
	*cut = NULL;
	int n = 0;
	for (int k = 0; node >= 0 && n < max; node = c->nodes[node].parent, k++) {
		if (len > max && n == max - 1) {
			/* Deeper than max: the frames between go, not the function that holds the
			 * code (the last one); the one just inside it gives its call line. */
			for (; k < len - 2; k++)
				node = c->nodes[node].parent;
			*cut = &c->nodes[node].die;
			node = c->nodes[node].parent;
		}
		out[n++] = c->nodes[node].die;
		if (!c->nodes[node].inlined)
			break;
	}
	return n;
}

static int cu_range_cmp(const void *a, const void *b)
{
	const cu_range_t *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every CU's ranges (DW_AT_low_pc/high_pc or DW_AT_ranges, through dwarf_ranges), sorted. */
static void build_cu_ranges(mp_dwidx_t *x, Dwfl_Module *mod)
{
	x->cu_ranges_built = true;
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias;
	while ((cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
			if (!code_range(x, lo, hi))
				continue;
			MP_GROW(x->cu_ranges, x->cap_cu_ranges, x->ncu_ranges + 1);
			x->cu_ranges[x->ncu_ranges++] =
			    (cu_range_t){lo + bias, hi + bias, cu, bias};
		}
	}
	if (x->ncu_ranges)
		qsort(x->cu_ranges, x->ncu_ranges, sizeof(*x->cu_ranges), cu_range_cmp);
}

/* Whether cu's code holds the DWARF address a (dwarf_haspc, without a removed function's). */
static bool cu_holds(const mp_dwidx_t *x, Dwarf_Die *cu, Dwarf_Addr a)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0)
		if (code_range(x, lo, hi) && a >= lo && a < hi)
			return true;
	return false;
}

Dwarf_Die *mp_dwidx_cu(mp_dwidx_t *x, Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
	if (x && !x->code_lo_known)
		find_code_lo(x, mod);
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);
	/* aranges may also name a CU that does not hold addr: in a Go program with cgo, the
	 * aranges of the C parts answer for the Go code too (every Go frame read gcc_mmap.c:37);
	 * with --gc-sections, a removed function's unit answers for the object's first code */
	if (!x || (cu && cu_holds(x, cu, addr - *bias)))
		return cu;
	if (!x->cu_ranges_built)
		build_cu_ranges(x, mod);
	/* CU ranges do not overlap: the last one starting at or below addr, if it holds it */
	size_t lo = after_lo(x->cu_ranges, x->ncu_ranges, sizeof(*x->cu_ranges), addr);
	if (lo == 0 || addr >= x->cu_ranges[lo - 1].hi)
		return NULL;
	*bias = x->cu_ranges[lo - 1].bias;
	return x->cu_ranges[lo - 1].cu;
}

int mp_dwidx_line(Dwarf_Die *cudie, Dwarf_Addr addr, const char **file)
{
	Dwarf_Line *ln = dwarf_getsrc_die(cudie, addr);
	int line = 0;
	*file = NULL;
	if (ln && dwarf_lineno(ln, &line) == 0)
		*file = dwarf_linesrc(ln, NULL, NULL);
	return *file ? line : 0;
}

/* dir/name is there but not a regular file: said, once per unit (odd_dwo). */
static bool odd_path(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	if (!dir || (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    stat(path, &st) != 0 || S_ISREG(st.st_mode))
		return false;
	fprintf(stderr,
		"mapprof-report: warning: %s: not a regular file; its split DWARF is not read\n",
		path);
	return true;
}

/* Whether the skeleton cudie's .dwo file is there but not a regular file: libdw's open of a
 * FIFO there blocked for ever (black-box QA). Where libdw looks: beside the file mod's DWARF
 * was read from, then as the skeleton names it (absolute, or in the compile directory); told
 * once per unit (a small cache: this runs for every frame). */
static bool odd_dwo(Dwfl_Module *mod, Dwarf_Die *cudie)
{
	static Dwarf_CU *seen[64];
	static bool odd[64];
	size_t slot = ((uintptr_t)cudie->cu >> 4) % 64;
	if (seen[slot] == cudie->cu)
		return odd[slot];
	Dwarf_Attribute a;
	const char *name = dwarf_formstring(dwarf_attr(cudie, DW_AT_dwo_name, &a));
	if (!name)
		name = dwarf_formstring(dwarf_attr(cudie, DW_AT_GNU_dwo_name, &a));
	const char *dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &a));
	/* libdw looks beside the file it read the DWARF from first, then in the compile
	 * directory (or at the absolute name) */
	const char *main_file = NULL, *debug_file = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &main_file, &debug_file);
	const char *from = debug_file ? debug_file : main_file;
	char fdir[4096] = "";
	const char *slash = from ? strrchr(from, '/') : NULL;
	if (slash && (size_t)(slash - from) < sizeof(fdir))
		snprintf(fdir, sizeof(fdir), "%.*s", (int)(slash - from), from);
	bool bad = name && ((fdir[0] && name[0] != '/' && odd_path(fdir, name)) ||
			    (name[0] == '/' ? odd_path("", name + 1) : odd_path(dir, name)));
	seen[slot] = cudie->cu;
	odd[slot] = bad;
	return bad;
}

Dwarf_Die *mp_dwidx_unit(Dwfl_Module *mod, Dwarf_Die *cudie, Dwarf_Die *mem, bool *missing)
{
	uint8_t type;
	if (dwarf_cu_info(cudie->cu, NULL, &type, NULL, NULL, NULL, NULL, NULL) != 0 ||
	    type != DW_UT_skeleton || odd_dwo(mod, cudie))
		return cudie;
	if (dwarf_cu_info(cudie->cu, NULL, &type, NULL, mem, NULL, NULL, NULL) != 0)
		return cudie;
	if (dwarf_tag(mem) == DW_TAG_compile_unit)
		return mem;
	if (missing)
		*missing = true;
	return cudie;
}
