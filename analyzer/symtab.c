// SPDX-License-Identifier: MIT
/* Sorted function symbols (see symtab.h). Aliases at one address are reduced to one entry, the
 * same whatever the order of the table: sized before sizeless, global before weak before
 * local, then the shortest name, then by name. */
#include "symtab.h"

#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
	Dwarf_Addr lo, size;
	const char *name;
	int bind_rank; /* 0 global, 1 weak, 2 local */
} sym_t;

struct mp_symtab {
	sym_t *s;
	size_t n, cap;
};

static int rank(int bind)
{
	return bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
}

/* By address, then the preferred alias first. */
static int sym_cmp(const void *a, const void *b)
{
	const sym_t *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if ((x->size == 0) != (y->size == 0))
		return x->size ? -1 : 1;
	if (x->bind_rank != y->bind_rank)
		return x->bind_rank - y->bind_rank;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

mp_symtab_t *mp_symtab_new(Dwfl_Module *mod)
{
	mp_symtab_t *t = mp_xcalloc(1, sizeof(*t));
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !*name || sym.st_shndx == SHN_UNDEF || addr == 0 ||
		    (type != STT_FUNC && type != STT_NOTYPE && type != STT_GNU_IFUNC))
			continue;
		MP_GROW(t->s, t->cap, t->n + 1);
		t->s[t->n++] = (sym_t){addr, sym.st_size, name, rank(GELF_ST_BIND(sym.st_info))};
	}
	if (t->n)
		qsort(t->s, t->n, sizeof(*t->s), sym_cmp);
	/* one entry per address: the first, preferred */
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (k == 0 || t->s[i].lo != t->s[k - 1].lo)
			t->s[k++] = t->s[i];
	t->n = k;
	return t;
}

void mp_symtab_free(mp_symtab_t *t)
{
	if (!t)
		return;
	free(t->s);
	free(t);
}

const char *mp_symtab_at(const mp_symtab_t *t, Dwarf_Addr addr)
{
	size_t lo = 0, hi = t->n; /* the first symbol above addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->s[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* The nearest below; a sized one must contain addr. Sized symbols may nest (a local
	 * label inside a function): look a few further back for one that contains it. */
	const sym_t *near = &t->s[lo - 1];
	for (size_t i = lo, seen = 0; i-- > 0 && seen < 8; seen++) {
		const sym_t *c = &t->s[i];
		if (c->size && addr < c->lo + c->size)
			return c->name;
	}
	return near->size == 0 ? near->name : NULL;
}

bool mp_symtab_defines(const mp_symtab_t *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->s[i].name, name) == 0)
			return true;
	return false;
}
