// SPDX-License-Identifier: MIT
/* Qualified C++ names of functions without a linkage name (see dwarf_name.h), in the
 * demangler's spelling so that an inlined instance and the function's own symbol read the same:
 * scopes joined by "::" (an unnamed namespace is "(anonymous namespace)"), the parameter types
 * ("int const&", "unsigned long"), the cv- and ref-qualifiers of a member function, and the
 * return type first for a template. A scope is found through a parent map that one walk of each
 * unit builds when the unit is first asked about: libdw's dwarf_getscopes_die walks the unit from
 * its start on every call, for every such function. Names are cached by DIE; hostile DWARF is
 * bounded by depth (MAX_DEPTH), by reference hops (MAX_HOPS) and by length (MAX_NAME). */
#include "dwarf_name.h"

#include <dwarf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_NAME   4096 /* a longer name is cut (a demangled one may be longer: never here) */
#define MAX_SUFFIX 256	/* a type's declarator part ("(* const*)") */
#define MAX_DEPTH  24	/* scopes and types nested deeper are left out */
#define MAX_HOPS   8	/* DW_AT_abstract_origin / DW_AT_specification links followed */
#define MAX_WALK   128	/* DIE nesting a unit's walk descends into */

typedef struct {
	const void *addr; /* the DIE's */
	Dwarf_Die parent;
} parent_t;

typedef struct {
	const void *addr; /* the DIE named */
	char *name;	  /* NULL while it is being made: a DIE met inside its own name is "" */
} name_t;

struct mp_dwname {
	mp_dwname_demangle_fn demangle;
	void *ctx;
	/* The parents of the DIEs that scope_of can meet in the units walked; a unit's DIE is its
	 * own parent there once it has been walked. */
	parent_t *parents;
	size_t nparents, cap_parents;
	mp_htab_t parent_index;
	name_t *names; /* scopes', types' and functions' names */
	size_t nnames, cap_names;
	mp_htab_t name_index;
};

typedef struct {
	char *p;
	size_t len; /* at most MAX_NAME - 1: what does not fit is left out */
} sb_t;

mp_dwname_t *mp_dwname_new(mp_dwname_demangle_fn demangle, void *ctx)
{
	mp_dwname_t *n = mp_xcalloc(1, sizeof(*n));
	n->demangle = demangle;
	n->ctx = ctx;
	return n;
}

void mp_dwname_free(mp_dwname_t *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nnames; i++)
		free(n->names[i].name);
	free(n->names);
	free(n->parents);
	mp_htab_free(&n->name_index);
	mp_htab_free(&n->parent_index);
	free(n);
}

static void put(sb_t *b, const char *s)
{
	size_t k = strlen(s);
	if (k > MAX_NAME - 1 - b->len)
		k = MAX_NAME - 1 - b->len;
	memcpy(b->p + b->len, s, k);
	b->len += k;
	b->p[b->len] = '\0';
}

static const char *attr_string(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute a;
	return dwarf_formstring(dwarf_attr_integrate(die, name, &a));
}

static bool attr_flag(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute a;
	bool v = false;
	return dwarf_formflag(dwarf_attr_integrate(die, name, &a), &v) == 0 && v;
}

/* The DIE that DW_AT_type names (NULL: void), past a declaration's DW_AT_signature (the type
 * itself is in a type unit, -fdebug-types-section). */
static Dwarf_Die *type_of(Dwarf_Die *die, Dwarf_Die *mem)
{
	Dwarf_Attribute a;
	Dwarf_Die *t = dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &a), mem);
	if (t && dwarf_attr(t, DW_AT_signature, &a) && !dwarf_formref_die(&a, mem))
		return NULL;
	return t;
}

/* The DIE that die's DW_AT_abstract_origin (an inlined or out-of-line instance's) or
 * DW_AT_specification (a definition outside its class, a type unit's type) names; false if
 * none. */
static bool origin(Dwarf_Die *die, Dwarf_Die *next)
{
	Dwarf_Attribute a;
	if (!dwarf_attr(die, DW_AT_abstract_origin, &a) &&
	    !dwarf_attr(die, DW_AT_specification, &a))
		return false;
	return dwarf_formref_die(&a, next) != NULL;
}

/* The declaration of die, whose parents are its scopes. */
static void declaration(Dwarf_Die *die, Dwarf_Die *decl)
{
	Dwarf_Die next;
	*decl = *die;
	for (int i = 0; i < MAX_HOPS && origin(decl, &next); i++)
		*decl = next;
}

/* What names a function, along its origins from die: the declaration, the DIE with its
 * parameters (the declaration's, unless a type unit's class left them out of it: then the
 * nearest before it that has them), and whether one says it is a template instance. */
typedef struct {
	Dwarf_Die decl, params;
	bool tmpl;
} fn_dies_t;

static void fn_dies(Dwarf_Die *die, fn_dies_t *f)
{
	Dwarf_Die next;
	f->decl = f->params = *die;
	f->tmpl = false;
	for (int i = 0;; i++) {
		Dwarf_Die c;
		bool params = false;
		if (dwarf_child(&f->decl, &c) == 0) {
			do {
				int tag = dwarf_tag(&c);
				params |= tag == DW_TAG_formal_parameter ||
					  tag == DW_TAG_unspecified_parameters;
				f->tmpl |= tag == DW_TAG_template_type_parameter ||
					   tag == DW_TAG_template_value_parameter ||
					   tag == DW_TAG_GNU_template_parameter_pack ||
					   tag == DW_TAG_GNU_template_template_param;
			} while (dwarf_siblingof(&c, &c) == 0);
		}
		if (params)
			f->params = f->decl;
		if (i == MAX_HOPS || !origin(&f->decl, &next))
			break;
		f->decl = next;
	}
}

/* ---- the parent map ---- */

typedef struct {
	const mp_dwname_t *n;
	const void *addr;
} nkey_t;

static int parent_eq(const void *ctx, uint32_t i)
{
	const nkey_t *k = ctx;
	return k->n->parents[i].addr == k->addr;
}

static int name_eq(const void *ctx, uint32_t i)
{
	const nkey_t *k = ctx;
	return k->n->names[i].addr == k->addr;
}

static bool is_class(int tag)
{
	return tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
	       tag == DW_TAG_union_type || tag == DW_TAG_interface_type;
}

/* DIEs whose parent a name can need: functions, scopes, and the blocks between a local class
 * and its function. */
static bool recorded(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_namespace || is_class(tag) ||
	       tag == DW_TAG_enumeration_type || tag == DW_TAG_lexical_block;
}

/* Only these hold declarations (an inlined instance's local types are its origin's). */
static bool descended(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_namespace || is_class(tag) ||
	       tag == DW_TAG_lexical_block;
}

static void add_parent(mp_dwname_t *n, Dwarf_Die *die, Dwarf_Die *parent)
{
	MP_GROW(n->parents, n->cap_parents, n->nparents + 1);
	n->parents[n->nparents] = (parent_t){die->addr, *parent};
	mp_htab_insert(&n->parent_index, mp_hash_u64((uintptr_t)die->addr),
		       (uint32_t)n->nparents++);
}

static const parent_t *find_parent(const mp_dwname_t *n, const void *addr)
{
	nkey_t k = {n, addr};
	uint32_t i = mp_htab_find(&n->parent_index, mp_hash_u64((uintptr_t)addr), parent_eq, &k);
	return i == MP_HTAB_NONE ? NULL : &n->parents[i];
}

static void walk(mp_dwname_t *n, Dwarf_Die *die, int depth)
{
	Dwarf_Die c;
	if (depth > MAX_WALK || dwarf_child(die, &c) != 0)
		return;
	do {
		int tag = dwarf_tag(&c);
		if (recorded(tag))
			add_parent(n, &c, die);
		if (descended(tag) && dwarf_haschildren(&c))
			walk(n, &c, depth + 1);
	} while (dwarf_siblingof(&c, &c) == 0);
}

/* The DIE that holds die (NULL at a unit's top level, or not known). */
static Dwarf_Die *parent_of(mp_dwname_t *n, Dwarf_Die *die, Dwarf_Die *mem)
{
	Dwarf_Die cu;
	if (!dwarf_diecu(die, &cu, NULL, NULL))
		return NULL;
	if (!find_parent(n, cu.addr)) {
		add_parent(n, &cu, &cu);
		walk(n, &cu, 0);
	}
	const parent_t *p = find_parent(n, die->addr);
	if (!p || p->parent.addr == cu.addr)
		return NULL;
	*mem = p->parent;
	return mem;
}

/* The scope that names die: its parent, past lexical blocks. */
static Dwarf_Die *scope_of(mp_dwname_t *n, Dwarf_Die *die, Dwarf_Die *mem)
{
	Dwarf_Die *p = parent_of(n, die, mem);
	for (int i = 0; p && dwarf_tag(p) == DW_TAG_lexical_block && i < MAX_DEPTH; i++)
		p = parent_of(n, p, mem);
	return p && dwarf_tag(p) != DW_TAG_lexical_block ? p : NULL;
}

/* ---- names ---- */

static const char *scope_name(mp_dwname_t *n, Dwarf_Die *die, int depth);
static const char *function_name(mp_dwname_t *n, fn_dies_t *f, int depth);
static void put_type(mp_dwname_t *n, sb_t *b, Dwarf_Die *t, const char *suffix, int depth);

static const char *cached(const mp_dwname_t *n, const void *addr)
{
	nkey_t k = {n, addr};
	uint32_t i = mp_htab_find(&n->name_index, mp_hash_u64((uintptr_t)addr), name_eq, &k);
	return i == MP_HTAB_NONE ? NULL : n->names[i].name ? n->names[i].name : "";
}

/* Starts addr's name: the entry that keep fills. Each name is made once, so that DWARF whose
 * types refer to each other cannot make the work grow exponentially with MAX_DEPTH. */
static uint32_t start(mp_dwname_t *n, const void *addr, sb_t *b)
{
	MP_GROW(n->names, n->cap_names, n->nnames + 1);
	n->names[n->nnames] = (name_t){addr, NULL};
	mp_htab_insert(&n->name_index, mp_hash_u64((uintptr_t)addr), (uint32_t)n->nnames);
	b->p = mp_xmalloc(MAX_NAME);
	b->p[0] = '\0';
	b->len = 0;
	return (uint32_t)n->nnames++;
}

/* Keeps b's text as entry i's name (b's buffer is taken). */
static const char *keep(mp_dwname_t *n, uint32_t i, sb_t *b)
{
	n->names[i].name = b->p;
	return b->p;
}

/* die's scopes, each followed by "::" */
static void put_scope(mp_dwname_t *n, sb_t *b, Dwarf_Die *die, int depth)
{
	Dwarf_Die mem, *p = scope_of(n, die, &mem);
	const char *s = p ? scope_name(n, p, depth + 1) : NULL;
	if (s && *s) {
		put(b, s);
		put(b, "::");
	}
}

/* GCC's spellings of base types, as the demangler spells them. */
static const char *const spellings[][2] = {
    {"long int", "long"},
    {"long unsigned int", "unsigned long"},
    {"short int", "short"},
    {"short unsigned int", "unsigned short"},
    {"long long int", "long long"},
    {"long long unsigned int", "unsigned long long"},
    {"__int128 unsigned", "unsigned __int128"},
};
#define NSPELLINGS (sizeof(spellings) / sizeof(spellings[0]))

static const char *base_name(const char *name)
{
	if (!name)
		return "?";
	for (size_t i = 0; i < NSPELLINGS; i++)
		if (!strcmp(name, spellings[i][0]))
			return spellings[i][1];
	return name;
}

static bool is_ident(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* A DW_AT_name, with the base types in its template arguments spelt as the demangler does
 * (GCC writes "pair<int, long int>" where the symbol reads "pair<int, long>"). */
static void put_name(sb_t *b, const char *name)
{
	const char *p = strchr(name, '<');
	if (!p) {
		put(b, name);
		return;
	}
	char one[2] = {0};
	for (p = name; *p && b->len < MAX_NAME - 1;) {
		size_t i = NSPELLINGS, k = 0;
		if (p == name || !is_ident(p[-1]))
			for (i = 0; i < NSPELLINGS; i++) {
				k = strlen(spellings[i][0]);
				if (!strncmp(p, spellings[i][0], k) && !is_ident(p[k]))
					break;
			}
		if (i < NSPELLINGS) {
			put(b, spellings[i][1]);
			p += k;
		} else {
			one[0] = *p++;
			put(b, one);
		}
	}
}

/* word, then the declarator part (a space before a name: "int Foo::*") */
static void put_word(sb_t *b, const char *word, const char *suffix)
{
	put(b, word ? word : "?");
	if (is_ident(suffix[0]))
		put(b, " ");
	put(b, suffix);
}

/* Whether t, past typedefs and qualifiers, is a function or an array type (a pointer to it is
 * written "void (*)(int)", "int (*) [3]"). */
static bool needs_parens(Dwarf_Die *t)
{
	Dwarf_Die mem;
	for (int i = 0; t && i < MAX_DEPTH; i++) {
		int tag = dwarf_tag(t);
		if (tag == DW_TAG_subroutine_type || tag == DW_TAG_array_type)
			return true;
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type)
			return false;
		t = type_of(t, &mem);
	}
	return false;
}

/* " const", " volatile" or both for a member function whose object pointer (this, or a
 * lambda's __closure) has type t: "T cv *", perhaps itself const. */
static const char *this_quals(Dwarf_Die *t)
{
	Dwarf_Die mem;
	bool c = false, v = false, pointee = false;
	for (int i = 0; t && i < MAX_DEPTH; i++, t = type_of(t, &mem)) {
		int tag = dwarf_tag(t);
		if (tag == DW_TAG_pointer_type && !pointee) {
			pointee = true;
			continue;
		}
		if (tag == DW_TAG_typedef)
			continue;
		if (tag != DW_TAG_const_type && tag != DW_TAG_volatile_type)
			break;
		c |= pointee && tag == DW_TAG_const_type;
		v |= pointee && tag == DW_TAG_volatile_type;
	}
	return c && v ? " const volatile" : c ? " const" : v ? " volatile" : "";
}

/* "(type, type, ...)" of function or function type fn; *quals (if given) gets " const",
 * " volatile" from the type of its object pointer (the first artificial parameter). */
static void put_params(mp_dwname_t *n, sb_t *b, Dwarf_Die *fn, int depth, const char **quals)
{
	put(b, "(");
	Dwarf_Die c;
	bool first = true, this_seen = false;
	if (dwarf_child(fn, &c) == 0) {
		do {
			int tag = dwarf_tag(&c);
			if (tag != DW_TAG_formal_parameter && tag != DW_TAG_unspecified_parameters)
				continue;
			Dwarf_Die mem, *t = type_of(&c, &mem);
			bool variadic = tag == DW_TAG_unspecified_parameters;
			if (!variadic && attr_flag(&c, DW_AT_artificial)) {
				if (quals && !this_seen)
					*quals = this_quals(t);
				this_seen = true;
				continue;
			}
			if (!first)
				put(b, ", ");
			first = false;
			if (variadic) {
				put(b, "...");
				continue;
			}
			/* a parameter's own const or volatile is no part of the function's type */
			for (int i = 0; t && i < MAX_DEPTH; i++) {
				int tt = dwarf_tag(t);
				if (tt != DW_TAG_const_type && tt != DW_TAG_volatile_type)
					break;
				t = type_of(t, &mem);
			}
			put_type(n, b, t, "", depth + 1);
		} while (dwarf_siblingof(&c, &c) == 0 && b->len < MAX_NAME - 1);
	}
	put(b, ")");
}

/* The number of elements of an array type's first dimension; -1 if not known. */
static int64_t array_count(Dwarf_Die *t)
{
	Dwarf_Die c;
	Dwarf_Attribute a;
	Dwarf_Word v;
	if (dwarf_child(t, &c) != 0 || dwarf_tag(&c) != DW_TAG_subrange_type)
		return -1;
	if (dwarf_formudata(dwarf_attr(&c, DW_AT_count, &a), &v) == 0)
		return v <= INT64_MAX ? (int64_t)v : -1;
	if (dwarf_formudata(dwarf_attr(&c, DW_AT_upper_bound, &a), &v) == 0)
		return v < INT64_MAX ? (int64_t)v + 1 : -1;
	return -1;
}

/* Type t as the demangler writes it, with suffix (the declarator part) where a name would go. */
static void put_type(mp_dwname_t *n, sb_t *b, Dwarf_Die *t, const char *suffix, int depth)
{
	if (depth > MAX_DEPTH || b->len >= MAX_NAME - 1) {
		put_word(b, "?", suffix);
		return;
	}
	if (!t) {
		put_word(b, "void", suffix);
		return;
	}
	char s[MAX_SUFFIX];
	Dwarf_Die mem, *in = type_of(t, &mem);
	const char *op = NULL;
	int64_t count;
	switch (dwarf_tag(t)) {
	case DW_TAG_base_type:
		put_word(b, base_name(attr_string(t, DW_AT_name)), suffix);
		return;
	case DW_TAG_unspecified_type: /* "decltype(nullptr)" */
		put_word(b, attr_string(t, DW_AT_name), suffix);
		return;
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_interface_type:
	case DW_TAG_enumeration_type:
		put_word(b, scope_name(n, t, depth + 1), suffix);
		return;
	case DW_TAG_typedef: /* a mangled name has the type itself */
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		put_type(n, b, in, suffix, depth + 1);
		return;
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
		snprintf(s, sizeof(s), "%s%s",
			 dwarf_tag(t) == DW_TAG_const_type ? " const" : " volatile", suffix);
		put_type(n, b, in, s, depth + 1);
		return;
	case DW_TAG_pointer_type:
		op = "*";
		break;
	case DW_TAG_reference_type:
		op = "&";
		break;
	case DW_TAG_rvalue_reference_type:
		op = "&&";
		break;
	case DW_TAG_ptr_to_member_type: {
		Dwarf_Attribute a;
		Dwarf_Die cmem,
		    *cls = dwarf_formref_die(dwarf_attr(t, DW_AT_containing_type, &a), &cmem);
		const char *cn = cls ? scope_name(n, cls, depth + 1) : NULL;
		snprintf(s, sizeof(s), needs_parens(in) ? "(%s::*%s)" : " %s::*%s", cn ? cn : "?",
			 suffix);
		put_type(n, b, in, s, depth + 1);
		return;
	}
	case DW_TAG_subroutine_type:
		put_type(n, b, in, "", depth + 1);
		put(b, " ");
		put(b, suffix);
		put_params(n, b, t, depth + 1, NULL);
		return;
	case DW_TAG_array_type:
		count = array_count(t);
		if (count >= 0)
			snprintf(s, sizeof(s), "%s%s [%lld]", suffix[0] ? " " : "", suffix,
				 (long long)count);
		else
			snprintf(s, sizeof(s), "%s%s []", suffix[0] ? " " : "", suffix);
		put_type(n, b, in, s, depth + 1);
		return;
	default:
		put_word(b, "?", suffix);
		return;
	}
	snprintf(s, sizeof(s), needs_parens(in) ? "(%s%s)" : "%s%s", op, suffix);
	put_type(n, b, in, s, depth + 1);
}

/* The operator() of a closure type (GCC names none of them), or NULL. */
static Dwarf_Die *call_operator(Dwarf_Die *cls, Dwarf_Die *mem)
{
	if (!is_class(dwarf_tag(cls)) || attr_string(cls, DW_AT_name) || dwarf_child(cls, mem))
		return NULL;
	do {
		const char *name = attr_string(mem, DW_AT_name);
		if (dwarf_tag(mem) == DW_TAG_subprogram && name && !strcmp(name, "operator()"))
			return mem;
	} while (dwarf_siblingof(mem, mem) == 0);
	return NULL;
}

/* The demangler's name of an unnamed type: "{lambda(int)#2}" for a closure, else the name of
 * the typedef that names it ("typedef struct {...} T;"), else "{unnamed type#1}". The number is
 * the ABI's order in its scope among the closures with the same parameters, or among the other
 * unnamed types; counted here in the DIE's parent, it may differ when the scope has blocks. */
static void put_unnamed(mp_dwname_t *n, sb_t *b, Dwarf_Die *die, int depth)
{
	char *params = mp_xmalloc(MAX_NAME), *other = mp_xmalloc(MAX_NAME);
	sb_t pb = {params, 0}, ob = {other, 0};
	Dwarf_Die omem, *op = call_operator(die, &omem);
	params[0] = '\0';
	if (op)
		put_params(n, &pb, op, depth + 1, NULL);
	int nth = 1;
	bool before = true;
	const char *typedef_name = NULL;
	Dwarf_Die pmem, c, *p = parent_of(n, die, &pmem);
	if (!p && dwarf_diecu(die, &pmem, NULL, NULL))
		p = &pmem;
	if (p && dwarf_child(p, &c) == 0) {
		do {
			int tag = dwarf_tag(&c);
			Dwarf_Attribute a;
			Dwarf_Die cmem, *cop;
			if (tag == DW_TAG_typedef && !op &&
			    (cop = dwarf_formref_die(dwarf_attr(&c, DW_AT_type, &a), &cmem)) &&
			    cop->addr == die->addr &&
			    (typedef_name = attr_string(&c, DW_AT_name)) != NULL)
				break;
			if (c.addr == die->addr)
				before = false;
			if (!before || (!is_class(tag) && tag != DW_TAG_enumeration_type) ||
			    attr_string(&c, DW_AT_name))
				continue;
			cop = call_operator(&c, &cmem);
			if (!op || !cop) {
				nth += !op && !cop;
				continue;
			}
			ob.len = 0;
			other[0] = '\0';
			put_params(n, &ob, cop, depth + 1, NULL);
			nth += !strcmp(params, other);
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	char num[32];
	snprintf(num, sizeof(num), "#%d}", nth);
	if (typedef_name) {
		put_name(b, typedef_name);
	} else {
		put(b, op ? "{lambda" : "{unnamed type");
		put(b, params);
		put(b, num);
	}
	free(params);
	free(other);
}

/* The qualified name of a scope or a type ("" if it names none: it is then left out). */
static const char *scope_name(mp_dwname_t *n, Dwarf_Die *die, int depth)
{
	const char *name = cached(n, die->addr);
	if (name)
		return name;
	int tag = dwarf_tag(die);
	if (tag == DW_TAG_subprogram) { /* a local class's function */
		fn_dies_t f;
		fn_dies(die, &f);
		name = function_name(n, &f, depth + 1);
		return name ? name : "";
	}
	if (depth > MAX_DEPTH ||
	    (tag != DW_TAG_namespace && tag != DW_TAG_enumeration_type && !is_class(tag)))
		return "";
	sb_t b;
	uint32_t i = start(n, die->addr, &b);
	Dwarf_Die decl; /* a type unit's type is at its top: its declaration has the scopes */
	declaration(die, &decl);
	put_scope(n, &b, &decl, depth);
	name = attr_string(die, DW_AT_name);
	if (name)
		put_name(&b, name);
	else if (tag == DW_TAG_namespace)
		put(&b, "(anonymous namespace)");
	else
		put_unnamed(n, &b, &decl, depth);
	return keep(n, i, &b);
}

/* Constructors, destructors and conversion operators have no return type in a mangled name. */
static bool returns(mp_dwname_t *n, Dwarf_Die *decl, const char *name)
{
	if (name[0] == '~' ||
	    (!strncmp(name, "operator ", 9) && strncmp(name, "operator new", 12) &&
	     strncmp(name, "operator delete", 15)))
		return false;
	Dwarf_Die mem, *p = scope_of(n, decl, &mem);
	const char *cls = p && is_class(dwarf_tag(p)) ? attr_string(p, DW_AT_name) : NULL;
	size_t len = strcspn(name, "<");
	return !cls || strcspn(cls, "<") != len || strncmp(cls, name, len) != 0;
}

/* The name of the function declared by decl: its demangled linkage name, its plain name when
 * it has C language linkage, else scopes, name, parameters and qualifiers. */
static const char *function_name(mp_dwname_t *n, fn_dies_t *f, int depth)
{
	Dwarf_Die *decl = &f->decl;
	const char *name = cached(n, decl->addr);
	if (name)
		return name;
	const char *link = attr_string(decl, DW_AT_linkage_name);
	if (!link)
		link = attr_string(decl, DW_AT_MIPS_linkage_name);
	if (link)
		return n->demangle(n->ctx, link);
	name = attr_string(decl, DW_AT_name);
	if (!name || attr_flag(decl, DW_AT_external) || depth > MAX_DEPTH)
		return name;
	sb_t b;
	uint32_t i = start(n, decl->addr, &b);
	if (f->tmpl && returns(n, decl, name)) {
		Dwarf_Die mem;
		put_type(n, &b, type_of(decl, &mem), "", depth + 1);
		put(&b, " ");
	}
	put_scope(n, &b, decl, depth);
	put_name(&b, name);
	const char *quals = "";
	put_params(n, &b, &f->params, depth, &quals);
	put(&b, quals);
	if (attr_flag(decl, DW_AT_reference))
		put(&b, " &");
	else if (attr_flag(decl, DW_AT_rvalue_reference))
		put(&b, " &&");
	return keep(n, i, &b);
}

static bool is_cxx(int lang)
{
	return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
	       lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14;
}

const char *mp_dwname_function(mp_dwname_t *n, Dwarf_Die *die)
{
	Dwarf_Die cu;
	if (!dwarf_diecu(die, &cu, NULL, NULL) || !is_cxx(dwarf_srclang(&cu)))
		return NULL;
	fn_dies_t f;
	fn_dies(die, &f);
	if (attr_string(&f.decl, DW_AT_linkage_name) ||
	    attr_string(&f.decl, DW_AT_MIPS_linkage_name) || attr_flag(&f.decl, DW_AT_external))
		return NULL;
	return function_name(n, &f, 0);
}
