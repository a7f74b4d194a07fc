// SPDX-License-Identifier: MIT
/* C++ names of functions that DWARF gives no linkage name (functions of an anonymous namespace,
 * methods of local classes): DW_AT_name alone is the bare "make", so two inlined methods
 * Alpha::make and Beta::make of an anonymous namespace read as one function in a profile. The
 * name is qualified by its declaration's enclosing scopes, as gdb does: namespaces ("(anonymous
 * namespace)" for an unnamed one), classes, and the function a local class is in. No parameter
 * list: the demangler's spelling of types cannot be rebuilt from DWARF faithfully, and a name
 * that follows the scopes alone is the same whatever else a profile holds.
 *
 * libdw keeps no parent links (dwarf_getscopes_die walks the unit from its start at each call:
 * 4x the report's time on a 120-unit program), so each unit met is walked once, recording its
 * scopes in DIE order with where each one's subtree ends: a DIE's scopes are then found by a
 * binary search and a walk up. */
#include "dwarf_scope.h"

#include <dwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_HOPS   4	   /* abstract origin, then specification: no C++ chain is longer */
#define MAX_DEPTH  64	   /* scopes nested deeper are not walked into */
#define MAX_FNS	   8	   /* enclosing functions a local class's name goes through */
#define MAX_SCOPES 1000000 /* per unit */
#define NAME_MAX_  1024

typedef struct {
	Dwarf_Off start, end; /* the scope's DIE and where its subtree ends */
	const char *name;     /* NULL: unnamed */
	int tag;
	int line;	 /* an unnamed type's declaration line (a lambda's closure type), else 0 */
	bool lambda;	 /* an unnamed type with an operator(): a lambda's closure type */
	uint32_t parent; /* index in the unit's scopes, UINT32_MAX at the unit's top */
} scope_t;

typedef struct {
	const Dwarf_CU *cu;
	Dwarf *dbg; /* the unit's (a split unit's is its .dwo's) */
	scope_t *s;
	size_t n, cap;
	Dwarf_Off last; /* the last DIE walked: offsets only rise */
	bool walked;
} unit_t;

struct mp_dwscope {
	unit_t *units;
	size_t n, cap;
	mp_htab_t index; /* units by cu */
};

mp_dwscope_t *mp_dwscope_new(void)
{
	return mp_xcalloc(1, sizeof(mp_dwscope_t));
}

void mp_dwscope_free(mp_dwscope_t *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->units[i].s);
	free(x->units);
	mp_htab_free(&x->index);
	free(x);
}

static bool is_scope(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
	       tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_subprogram;
}

/* Lexical blocks hold no name of a scope, but may hold local classes. */
static bool walked_into(int tag)
{
	return is_scope(tag) || tag == DW_TAG_lexical_block;
}

static const char *name_of(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
}

/* Records the scopes among die and its siblings, and their subtrees', under parent; `end` is
 * where the enclosing subtree ends. Iterative over siblings, recursive over depth (capped).
 * Offsets must rise: a DW_AT_sibling into a DIE's own subtree (bad DWARF) would have it walked
 * again at every level, doubling the work per level. A method's declaration (in its class)
 * holds no class: neither recorded nor walked into. */
/* Whether an unnamed class type is a lambda's closure: it has an operator() (GCC also gives it
 * constructors named "<lambda>"). */
static bool is_closure(Dwarf_Die *type)
{
	Dwarf_Die c;
	if (dwarf_child(type, &c) != 0)
		return false;
	do {
		const char *nm;
		if (dwarf_tag(&c) == DW_TAG_subprogram && (nm = dwarf_diename(&c)) &&
		    (!strcmp(nm, "operator()") || !strcmp(nm, "<lambda>")))
			return true;
	} while (dwarf_siblingof(&c, &c) == 0);
	return false;
}

static void walk(unit_t *u, Dwarf_Die *die, uint32_t parent, Dwarf_Off end, int depth)
{
	Dwarf_Die cur = *die, sib, child;
	for (;;) {
		Dwarf_Off here = dwarf_dieoffset(&cur);
		if ((u->walked && here <= u->last) || u->n >= MAX_SCOPES)
			return;
		u->walked = true;
		u->last = here;
		int more = dwarf_siblingof(&cur, &sib);
		Dwarf_Off next = more == 0 ? dwarf_dieoffset(&sib) : end;
		int tag = dwarf_tag(&cur);
		bool decl = tag == DW_TAG_subprogram && dwarf_hasattr(&cur, DW_AT_declaration);
		uint32_t me = parent;
		if (is_scope(tag) && !decl) {
			MP_GROW(u->s, u->cap, u->n + 1);
			/* a function's name may be on its declaration (DW_AT_specification) */
			const char *nm =
			    tag == DW_TAG_subprogram ? name_of(&cur) : dwarf_diename(&cur);
			/* Two lambdas in one function have two unnamed closure types: their lines
			 * tell them apart (the demangler's {lambda(int)#2} needs the mangled name),
			 * and {lambda at line N} says what they are.
			 */
			int line = 0;
			if (!nm && tag != DW_TAG_namespace && tag != DW_TAG_subprogram &&
			    dwarf_decl_line(&cur, &line) != 0)
				line = 0;
			bool lambda = !nm &&
				      (tag == DW_TAG_class_type || tag == DW_TAG_structure_type) &&
				      is_closure(&cur);
			u->s[u->n] = (scope_t){here, next, nm, tag, line, lambda, parent};
			me = (uint32_t)u->n++;
		}
		if (walked_into(tag) && !decl && depth < MAX_DEPTH &&
		    dwarf_child(&cur, &child) == 0)
			walk(u, &child, me, next, depth + 1);
		if (more != 0 || next <= here) /* no sibling, or offsets going back: bad DWARF */
			return;
		cur = sib;
	}
}

static int unit_eq(const void *ctx, uint32_t i)
{
	const void *const *k = ctx;
	return ((const unit_t *)k[0])[i].cu == k[1];
}

static unit_t *unit_of(mp_dwscope_t *x, Dwarf_Die *die)
{
	Dwarf_Die cudie, child;
	if (!dwarf_diecu(die, &cudie, NULL, NULL))
		return NULL;
	const void *k[2] = {x->units, cudie.cu};
	uint64_t h = mp_hash_u64((uint64_t)(uintptr_t)cudie.cu);
	uint32_t i = mp_htab_find(&x->index, h, unit_eq, k);
	if (i != MP_HTAB_NONE)
		return &x->units[i];
	MP_GROW(x->units, x->cap, x->n + 1);
	unit_t *u = &x->units[x->n];
	memset(u, 0, sizeof(*u));
	u->cu = cudie.cu;
	u->dbg = dwarf_cu_getdwarf(cudie.cu);
	if (dwarf_child(&cudie, &child) == 0)
		walk(u, &child, UINT32_MAX, UINT64_MAX, 0);
	mp_htab_insert(&x->index, h, (uint32_t)x->n++);
	return u;
}

/* The innermost scope of u that holds the DIE at off (not the DIE itself), or UINT32_MAX. */
static uint32_t holder(const unit_t *u, Dwarf_Off off)
{
	size_t lo = 0, hi = u->n; /* the last scope that starts before off */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u->s[mid].start < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t i = lo ? (uint32_t)(lo - 1) : UINT32_MAX;
	for (int hops = 0; i != UINT32_MAX && u->s[i].end <= off && hops < MAX_DEPTH; hops++)
		i = u->s[i].parent;
	return i != UINT32_MAX && u->s[i].end > off ? i : UINT32_MAX;
}

/* The language of die's unit, -1 if it has none (a dwz partial unit). */
static int cu_lang(Dwarf_Die *die)
{
	Dwarf_Die cu;
	return dwarf_diecu(die, &cu, NULL, NULL) ? dwarf_srclang(&cu) : -1;
}

static bool is_cxx(int lang)
{
	return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
	       lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14;
}

/* The DIE that declares die's function: its abstract origin's, then that one's in-class
 * declaration (DW_AT_specification), whose parents are the scopes. */
static void declaration(Dwarf_Die *die, Dwarf_Die *out)
{
	*out = *die;
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		Dwarf_Attribute a;
		Dwarf_Die next;
		if (!(dwarf_attr(out, DW_AT_abstract_origin, &a) ||
		      dwarf_attr(out, DW_AT_specification, &a)) ||
		    !dwarf_formref_die(&a, &next))
			return;
		*out = next;
	}
}

/* Appends the scopes that hold the DIE cur, innermost first, to names (n so far, of MAX_DEPTH).
 * A function reached (the one a local class or a lambda is in) ends the list unless it has a
 * declaration elsewhere (a method, or a function declared in a namespace and defined outside
 * it, at the unit's top): then *next is that declaration, whose scopes come next. False when
 * the scopes are more than MAX_DEPTH. */
static bool scopes_of(mp_dwscope_t *x, Dwarf_Die *cur, const scope_t **names, int *n,
		      Dwarf_Die *next, bool *more)
{
	*more = false;
	const unit_t *u = unit_of(x, cur);
	if (!u)
		return true;
	for (uint32_t i = holder(u, dwarf_dieoffset(cur)); i != UINT32_MAX; i = u->s[i].parent) {
		if (*n == MAX_DEPTH)
			return false;
		names[(*n)++] = &u->s[i];
		Dwarf_Die fn;
		if (u->s[i].tag != DW_TAG_subprogram || !u->dbg ||
		    !dwarf_offdie(u->dbg, u->s[i].start, &fn) || fn.cu != u->cu ||
		    dwarf_tag(&fn) != DW_TAG_subprogram) /* a type unit's offsets are not these */
			continue;
		declaration(&fn, next);
		if (dwarf_dieoffset(next) != u->s[i].start || next->cu != fn.cu) {
			*more = true;
			return true;
		}
	}
	return true;
}

char *mp_dwscope_name(mp_dwscope_t *x, Dwarf_Die *die, const char *plain)
{
	if (!plain || !*plain)
		return NULL;
	Dwarf_Die decl;
	declaration(die, &decl);
	/* The declaration's language: under -flto the inlined copy's unit is the link's (C++
	 * when any part is), while a C function's declaration stays in its C unit. */
	int lang = cu_lang(&decl);
	if (!is_cxx(lang < 0 ? cu_lang(die) : lang))
		return NULL;
	const scope_t *chain[MAX_DEPTH];
	int n = 0;
	bool more = true;
	for (int fns = 0; more && fns < MAX_FNS; fns++) {
		Dwarf_Die next;
		if (!scopes_of(x, &decl, chain, &n, &next, &more))
			return NULL; /* deeper than kept: a name cut at both ends would mislead */
		decl = next;
	}
	if (!n)
		return NULL; /* at file scope: the plain name is the whole name */
	char buf[NAME_MAX_];
	size_t len = 0;
	for (int k = n - 1; k >= 0; k--) {
		const char *nm = chain[k]->name;
		char typ[48];
		if (!nm && chain[k]->line > 0) {
			snprintf(typ, sizeof(typ), "{%s at line %d}",
				 chain[k]->lambda ? "lambda" : "unnamed type", chain[k]->line);
			nm = typ;
		} else if (!nm)
			nm = chain[k]->tag == DW_TAG_namespace	  ? "(anonymous namespace)"
			     : chain[k]->tag == DW_TAG_subprogram ? "?"
								  : "{unnamed type}";
		size_t l = strlen(nm);
		if (len + l + 2 >= sizeof(buf))
			return NULL;
		memcpy(buf + len, nm, l);
		memcpy(buf + len + l, "::", 2);
		len += l + 2;
	}
	size_t pl = strlen(plain);
	if (len + pl >= sizeof(buf))
		return NULL;
	memcpy(buf + len, plain, pl + 1);
	return mp_xstrdup(buf);
}
