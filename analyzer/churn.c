/* SPDX-License-Identifier: MIT */
/* --maps, the model: folds every process's MAP_SITES per call site, derives percentiles and
 * shares, and judges each site against the thresholds in churn.h. A call site is the first
 * frame of the site's stack outside the map implementation (libstdc++'s hashtable headers and
 * library, uthash's and mapprof's headers) and the shim, so that the report names the line of
 * the user's code that made the map. Writers are in report_maps.c. */
#include "churn.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "stacks.h"
#include "report.h"
#include "util.h"

typedef struct {
	const mp_churn_t *c;
	uint32_t kind;
	const char *function, *file, *container;
	int64_t line;
} site_key_t;

static int site_eq(const void *ctx, uint32_t i)
{
	const site_key_t *k = ctx;
	const mp_churn_site_t *s = &k->c->sites[i];
	return s->kind == k->kind && s->line == k->line && !strcmp(s->function, k->function) &&
	       !strcmp(s->file, k->file) && !strcmp(s->container, k->container);
}

static bool contains(const char *s, const char *needle)
{
	return s && strstr(s, needle) != NULL;
}

/* If s[i] begins an operator name ("operator()", "operator<<", "operator new[]"), the index just
 * past it; else i. Its brackets and spaces are not the name's structure. */
static size_t skip_operator(const char *s, size_t i)
{
	if (strncmp(s + i, "operator", 8) != 0 ||
	    (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_')))
		return i;
	size_t j = i + 8;
	if (isalnum((unsigned char)s[j]) || s[j] == '_')
		return i; /* operator_x: an ordinary name */
	while (s[j] == ' ')
		j++;
	if (!strncmp(s + j, "()", 2) || !strncmp(s + j, "[]", 2))
		return j + 2;
	if (isalpha((unsigned char)s[j]) || s[j] == '_') { /* new, delete, a conversion */
		while (isalnum((unsigned char)s[j]) || s[j] == '_' || s[j] == ':')
			j++;
		if (!strncmp(s + j, "[]", 2))
			j += 2;
		return j;
	}
	while (s[j] && strchr("<>=!+-*/%^&|~,", s[j]))
		j++;
	return j;
}

/* The index of the bracket closing the one at s[i], within s[0..len), or len. */
static size_t closing_in(const char *s, size_t i, size_t len)
{
	int depth = 0;
	for (; i < len; i++) {
		size_t k = skip_operator(s, i);
		if (k != i) {
			i = k - 1;
			continue;
		}
		if (strchr("<({", s[i]))
			depth++;
		else if (strchr(">)}", s[i]) && --depth == 0)
			return i;
	}
	return len;
}

/* The index of the bracket closing the one at s[i], or of the terminating NUL. */
static size_t closing(const char *s, size_t i)
{
	return closing_in(s, i, strlen(s));
}

/* The function's own qualified name in a demangled one: the return type, the parameter list and
 * what follows it (const, &, [clone .isra.0]) dropped ("std::pair<..> std::_Hashtable<..>::
 * _M_insert(..) const" gives "std::_Hashtable<..>::_M_insert"). A bracket group followed by
 * "::" is a scope, not the parameters ("parse()::{lambda(int)#1}::operator()(int) const",
 * "(anonymous namespace)::fill(int)"). So a user's function taking or returning a map, or a
 * class templated on one, is not taken for the map's own code. */
static void own_name(const char *fn, char *out, size_t n)
{
	size_t word = 0, end = strlen(fn);
	for (size_t i = 0; fn[i];) {
		size_t k = skip_operator(fn, i);
		if (k != i) {
			i = k;
			continue;
		}
		char c = fn[i];
		if (c == ' ') {
			word = i + 1;
			i++;
		} else if (c == '<' || c == '{' || c == '(') {
			size_t j = closing(fn, i);
			if (c == '(' && strncmp(fn + j + (fn[j] ? 1 : 0), "::", 2) != 0) {
				end = i; /* the parameter list */
				break;
			}
			i = fn[j] ? j + 1 : j;
		} else {
			i++;
		}
	}
	size_t len = end > word ? end - word : 0;
	if (len >= n)
		len = n - 1;
	memcpy(out, fn + word, len);
	out[len] = 0;
}

/* The headers of the map implementations and mapprof's own, by their names: a user's header
 * that merely ends so (strmap_uthash.h) is the user's code, its file:line kept. */
static bool impl_file(const char *file)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	return contains(file, "/include/c++/") || !strcmp(base, "uthash.h") ||
	       !strcmp(base, "mapprof.h");
}

/* A name of the standard library's or the compiler's (std::, __gnu_cxx::, __x...), by the
 * function's own name: a function template's demangled name starts with its return type ("void
 * std::__new_allocator<..>::construct<..>(..)", where a container builds a map in place). */
static bool library_name(const char *fn)
{
	char own[512];
	own_name(fn, own, sizeof(own));
	return !strncmp(own, "std::", 5) || !strncmp(own, "__", 2);
}

/* Frames that belong to a map implementation or to mapprof itself, never to the user. A
 * user's function named by its symbol with a line of the library's code inlined there (its
 * DWARF has no inlined functions: split DWARF whose .dwo files are gone) is the user's. */
static bool impl_frame(const char *fn, const char *file, const char *object)
{
	const char *base = object ? strrchr(object, '/') : NULL;
	base = base ? base + 1 : object;
	if (base && (!strncmp(base, "libstdc++", 9) || !strncmp(base, "libmapprof", 10)))
		return true;
	if (impl_file(file) && library_name(fn))
		return true;
	return mp_churn_impl_name(fn);
}

/* libstdc++'s debug mode (-D_GLIBCXX_DEBUG) wraps each container, std::__debug::unordered_map,
 * around the plain one, renamed std::__cxx1998::unordered_map. */
static const char *const debug_ns[] = {"__debug::", "__cxx1998::"};

/* Whether own (a function's own name) is a member of a std::unordered_ container, of debug
 * mode's too. */
static bool unordered_member(const char *own)
{
	if (strncmp(own, "std::", 5) != 0)
		return false;
	own += 5;
	for (size_t i = 0; i < sizeof(debug_ns) / sizeof(*debug_ns); i++)
		if (!strncmp(own, debug_ns[i], strlen(debug_ns[i])))
			own += strlen(debug_ns[i]);
	return !strncmp(own, "unordered_", 10);
}

bool mp_churn_impl_name(const char *fn)
{
	char own[512];
	own_name(fn, own, sizeof(own));
	return !strncmp(own, "std::_Hashtable", 15) || !strncmp(own, "std::__detail::", 15) ||
	       unordered_member(own) || !strncmp(own, "mapprof_", 8) ||
	       !strncmp(own, "operator new", 12);
}

/* Drops debug mode's namespaces from the type in out (std::__debug::X is std::X): the program
 * names std::unordered_map. Only right after "std::", never inside another name. */
static void drop_debug_ns(char *out)
{
	for (size_t i = 0; i < sizeof(debug_ns) / sizeof(*debug_ns); i++) {
		size_t len = strlen(debug_ns[i]);
		for (char *at = out; (at = strstr(at, "std::")) != NULL;) {
			at += 5;
			char before = at - 5 > out ? at[-6] : ' ';
			if (!strncmp(at, debug_ns[i], len) &&
			    !(isalnum((unsigned char)before) || before == '_' || before == ':'))
				memmove(at, at + len, strlen(at + len) + 1);
		}
	}
}

/* The container type of a std::unordered_ member's own name: its scope ("std::unordered_map<
 * K, V, ...>::operator[]" gives "std::unordered_map<K, V, ...>"), or "" for another name. */
static void container_of(const char *own, char *out, size_t n)
{
	out[0] = 0;
	if (!unordered_member(own))
		return;
	size_t scope = 0;
	for (size_t i = 0; own[i];) {
		if (own[i] == '<') {
			size_t j = closing(own, i);
			i = own[j] ? j + 1 : j;
		} else if (own[i] == ':' && own[i + 1] == ':') {
			scope = i;
			i += 2;
		} else {
			i++;
		}
	}
	if (scope > 15 && scope < n) {
		memcpy(out, own, scope);
		out[scope] = 0;
		drop_debug_ns(out);
	}
}

/* Template arguments that are the containers' defaults (and std::string's): left out of a type
 * as the user wrote it. */
static bool default_arg(const char *a, size_t len)
{
	static const char *const skip[] = {"std::hash<", "std::equal_to<", "std::allocator<",
					   "std::char_traits<"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++)
		if (len >= strlen(skip[i]) && !strncmp(a, skip[i], strlen(skip[i])))
			return true;
	return false;
}

/* Appends s[0..len) to out (n bytes, *at used), as much as fits. */
static void put(char *out, size_t n, size_t *at, const char *s, size_t len)
{
	size_t room = n - *at - 1;
	if (len > room)
		len = room;
	memcpy(out + *at, s, len);
	*at += len;
	out[*at] = 0;
}

/* Appends type t[0..len) to out (at *at, n bytes) as the user would write it: trailing
 * defaulted arguments left out (a default before an argument of the program's stays: it
 * holds its place), std::string by that name. */
static void short_type_into(const char *t, size_t len, char *out, size_t n, size_t *at, int depth)
{
	static const char str[] =
	    "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
	if (len == sizeof(str) - 1 && !strncmp(t, str, len)) {
		put(out, n, at, "std::string", 11);
		return;
	}
	size_t open = 0;
	while (open < len && t[open] != '<')
		open++;
	size_t end = open < len ? closing_in(t, open, len) : len;
	if (open >= len || end >= len || depth > 16) {
		put(out, n, at, t, len);
		return;
	}
	enum { MAX_ARGS = 32 };
	size_t from[MAX_ARGS], to[MAX_ARGS];
	int nargs = 0, keep = 0;
	for (size_t i = open + 1; i < end;) {
		if (nargs == MAX_ARGS) { /* more than are kept: as it is */
			put(out, n, at, t, len);
			return;
		}
		while (i < end && t[i] == ' ')
			i++;
		size_t j = i;
		while (j < end && t[j] != ',') {
			size_t k = skip_operator(t, j);
			if (k != j)
				j = k;
			else if (t[j] == '<' || t[j] == '(')
				j = closing_in(t, j, end) + 1;
			else
				j++;
		}
		size_t e = j < end ? j : end;
		while (e > i && t[e - 1] == ' ')
			e--;
		from[nargs] = i;
		to[nargs] = e;
		nargs++;
		if (e > i && !default_arg(t + i, e - i))
			keep = nargs;
		i = j + 1;
	}
	put(out, n, at, t, open + 1);
	for (int a = 0; a < keep; a++) {
		if (a)
			put(out, n, at, ", ", 2);
		short_type_into(t + from[a], to[a] - from[a], out, n, at, depth + 1);
	}
	put(out, n, at, ">", 1);
	put(out, n, at, t + end + 1, len - end - 1); /* "::iterator", " const*" */
}

void mp_churn_short_type(const char *type, char *out, size_t n)
{
	size_t at = 0;
	if (!n)
		return;
	out[0] = 0;
	short_type_into(type, strlen(type), out, n, &at, 0);
}

/* Frames of a site in code without symbols named together (innermost first). */
#define BARE_FRAMES 4

/* The names of frames j.. (at most BARE_FRAMES) of a stack, joined by " < " into buf: a
 * symbolized caller by its function's own name (no parameters), cut at 80 bytes; a frame that
 * does not fit ends the list whole, never in its middle. */
static const char *bare_path(const mp_profile_t *p, const uint64_t *locs, uint32_t j, uint32_t len,
			     char *buf, size_t n, bool *bare)
{
	char one[MP_FRAME_NAME_MAX], own[81];
	size_t used = 0;
	buf[0] = 0;
	for (uint32_t i = j; i < len && i < j + BARE_FRAMES; i++) {
		const char *name = mp_report_frame_name(p, locs[i], 0, one, sizeof(one));
		if (p->locations[locs[i] - 1].nlines) {
			own_name(name, own, sizeof(own));
			name = own[0] ? own : name;
		}
		int w = snprintf(buf + used, n - used, "%s%s", i > j ? " < " : "", name);
		if (w < 0 || (size_t)w >= n - used) {
			buf[used] = 0;
			break;
		}
		used += (size_t)w;
	}
	*bare = true;
	return buf;
}

/* Picks the user frame of profile stack s: fills function, file, line (file "" if unknown) and
 * the index of its location in the stack. A frame without symbols (a stripped program) cannot
 * be told from a map's template code inlined there, which every site of that map type shares:
 * such a site is named, and told apart, by its frame and the next BARE_FRAMES - 1 (its
 * callers'), joined by " < " into bare_buf; *bare says so. A guess both ways: deeper template
 * code (-O0) still merges sites, and a helper called from several places is several sites.
 * false: every frame is the map's code or mapprof's (a stack cut short), named by the innermost. */
static bool pick_frame(const mp_profile_t *p, uint32_t s, const char **fn, const char **file,
		       int64_t *line, uint32_t *at, uint32_t *atk, bool *bare, char *buf, size_t n,
		       char *bare_buf, size_t bare_n, char *cont, size_t cont_n)
{
	/* The innermost std::unordered_ frame names the container: two maps made on one line (a
	 * map of sets, idx[w].insert(d)) are two sites. */
	const char *inner = NULL; /* that frame's name */
	cont[0] = 0;
	uint32_t len = mp_profile_stack_len(p, s);
	const uint64_t *locs = mp_profile_stack_locs(p, s);
	*fn = "?";
	*file = "";
	*line = 0;
	*at = 0;
	*bare = false;
	bool first = true;
	for (uint32_t j = 0; j < len; j++) {
		const mp_location_t *l = &p->locations[locs[j] - 1];
		const char *object =
		    l->mapping_id ? p->strings[p->mappings[l->mapping_id - 1].filename] : NULL;
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = 0; k < nl; k++) { /* innermost inlined function first */
			const char *name = mp_report_frame_name(p, locs[j], k, buf, n);
			const char *f = "";
			int64_t ln = 0;
			if (k < l->nlines) {
				const mp_line_t *li = &p->lines[l->line_off + k];
				f = p->strings[p->functions[li->function_id - 1].filename];
				ln = li->line;
			}
			if (first) { /* fallback: the innermost frame */
				/* kept where later frames' names do not overwrite it: bare_buf is
				 * used only when a user frame is found */
				if (name == buf) {
					snprintf(bare_buf, bare_n, "%s", name);
					name = bare_buf;
				}
				*fn = name;
				*file = f;
				*line = ln;
				first = false;
			}
			if (!impl_frame(name, f, object)) {
				if (impl_file(f)) { /* its own line is not known (impl_frame) */
					f = "";
					ln = 0;
				}
				*fn = name;
				*file = f;
				*line = ln;
				*at = j;
				*atk = k;
				if (!l->nlines)
					*fn = bare_path(p, locs, j, len, bare_buf, bare_n, bare);
				if (inner) {
					char own[4096];
					own_name(inner, own, sizeof(own));
					container_of(own, cont, cont_n);
				}
				return true;
			}
			if (k < l->nlines && !inner) {
				/* the innermost: an inner map made inside the outer's member
				 * (try_emplace(w, 64)) is the inner's; by its own name, as a
				 * member template's starts with its return type */
				char own[512];
				own_name(name, own, sizeof(own));
				if (unordered_member(own))
					inner = name;
			}
		}
	}
	return false;
}

/* The frame that called the site's (at location j, inline level k of stack s): its name (in
 * buf if made there), file and line; false if the stack ends there. */
static bool caller_of(const mp_profile_t *p, uint32_t s, uint32_t j, uint32_t k, const char **fn,
		      const char **file, int64_t *line, char *buf, size_t n)
{
	uint32_t len = mp_profile_stack_len(p, s);
	const uint64_t *locs = mp_profile_stack_locs(p, s);
	const mp_location_t *l = &p->locations[locs[j] - 1];
	if (k + 1 < l->nlines) {
		k++;
	} else {
		if (++j >= len)
			return false;
		k = 0;
		l = &p->locations[locs[j] - 1];
	}
	*fn = mp_report_frame_name(p, locs[j], k, buf, n);
	*file = "";
	*line = 0;
	if (k < l->nlines) {
		const mp_line_t *li = &p->lines[l->line_off + k];
		*file = p->strings[p->functions[li->function_id - 1].filename];
		*line = li->line;
	}
	return true;
}

static mp_churn_site_t *site_for(mp_churn_t *c, mp_htab_t *index, uint32_t kind, const char *fn,
				 const char *file, int64_t line, const char *container)
{
	site_key_t k = {c, kind, fn, file, container, line};
	uint64_t h = mp_hash_bytes(fn, strlen(fn), mp_hash_bytes(file, strlen(file), kind));
	h = mp_hash_bytes(container, strlen(container), mp_hash_u64(h ^ (uint64_t)line));
	uint32_t i = mp_htab_find(index, h, site_eq, &k);
	if (i != MP_HTAB_NONE)
		return &c->sites[i];
	MP_GROW(c->sites, c->cap, c->n + 1);
	mp_churn_site_t *s = &c->sites[c->n];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->function = mp_xstrdup(fn);
	s->file = mp_xstrdup(file);
	s->container = mp_xstrdup(container);
	s->line = line;
	mp_htab_insert(index, h, (uint32_t)c->n);
	c->n++;
	return s;
}

typedef struct {
	const mp_churn_t *c;
	const mp_churn_site_t *s;
} line_key_t;

static int line_eq(const void *ctx, uint32_t i)
{
	const line_key_t *k = ctx;
	const mp_churn_site_t *a = k->s, *b = &k->c->sites[i];
	return a->kind == b->kind && a->line == b->line && !strcmp(a->function, b->function) &&
	       !strcmp(a->file, b->file);
}

/* Sites that share their kind, function and line with another (told apart by container): the
 * reports name their container. */
static void mark_shared_lines(mp_churn_t *c)
{
	mp_htab_t lines = {0};
	for (size_t i = 0; i < c->n; i++) {
		mp_churn_site_t *s = &c->sites[i];
		uint64_t h = mp_hash_bytes(s->function, strlen(s->function),
					   mp_hash_bytes(s->file, strlen(s->file), s->kind));
		h = mp_hash_u64(h ^ (uint64_t)s->line);
		line_key_t k = {c, s};
		uint32_t j = mp_htab_find(&lines, h, line_eq, &k);
		if (j != MP_HTAB_NONE) {
			s->shares_line = true;
			c->sites[j].shares_line = true;
		} else {
			mp_htab_insert(&lines, h, (uint32_t)i);
		}
	}
	mp_htab_free(&lines);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void fold(mp_churn_site_t *s, const mp_dump_site_t *d)
{
	s->flags |= d->flags;
	s->instances += d->instances;
	s->live += d->live;
	s->grows += d->grows;
	s->max_grows = max64(s->max_grows, d->max_grows);
	s->reserved += d->reserved;
	s->tiny += d->tiny;
	s->shared += d->shared;
	s->turns += d->turns;
	s->copies += d->copies;
	s->lf_lowered += d->lf_lowered;
	s->late_reserved += d->late_reserved;
	s->late_buckets = mp_add_sat_u64(s->late_buckets, d->late_buckets);
	s->moved_out += d->moved_out;
	s->max_threads = max64(s->max_threads, d->max_threads);
	s->noexpand += d->noexpand;
	s->grow_bytes = mp_add_sat_u64(s->grow_bytes, d->grow_bytes);
	s->heap_grow_bytes = mp_add_sat_u64(s->heap_grow_bytes, d->heap_grow_bytes);
	s->grow_ns = mp_add_sat_u64(s->grow_ns, d->grow_ns);
	s->max_grow_ns = max64(s->max_grow_ns, d->max_grow_ns);
	s->max_size = max64(s->max_size, d->max_size);
	for (int b = 0; b < MP_HIST_SIZE_BUCKETS; b++)
		s->size_hist[b] += d->size_hist[b];
	for (int b = 0; b < MP_HIST_LIFE_BUCKETS; b++)
		s->life_hist[b] += d->life_hist[b];
}

/* The upper bound of the bucket holding quantile q (bucket b >= 1 holds [2^(b-1), 2^b - 1]),
 * clamped to the largest value seen when that is known. */
static uint64_t quantile(const uint64_t *hist, int nb, double q, uint64_t max)
{
	uint64_t total = 0, acc = 0;
	for (int b = 0; b < nb; b++)
		total += hist[b];
	if (total == 0)
		return 0;
	for (int b = 0; b < nb; b++) {
		acc += hist[b];
		if ((double)acc >= q * (double)total) {
			/* The last bucket is open-ended: the largest value seen bounds it, when
			 * known (sizes; a lifetime past 2^46 ns, 19.5 hours, reads as 2^47 - 1). */
			bool open = b >= 63 || (b == nb - 1 && max);
			uint64_t up = b == 0 ? 0 : open ? UINT64_MAX : ((uint64_t)1 << b) - 1;
			return max && up > max ? max : up;
		}
	}
	return max;
}

static void add_stat(mp_churn_t *c, const char *key, uint64_t v)
{
	for (size_t i = 0; i < c->nstats; i++) {
		if (!strcmp(c->stat_keys[i], key)) {
			c->stat_values[i] += v;
			return;
		}
	}
	size_t cap = c->cap_stats;
	MP_GROW(c->stat_keys, cap, c->nstats + 1);
	MP_GROW(c->stat_values, c->cap_stats, c->nstats + 1);
	c->stat_keys[c->nstats] = mp_xstrdup(key);
	c->stat_values[c->nstats++] = v;
}

static void verdict(mp_churn_site_t *s, enum mp_verdict_id id, const char *evidence,
		    const char *suggestion)
{
	/* Allocated with the first: most sites have none, and a verdict is 1 kB of text. */
	if (!s->verdicts)
		s->verdicts = mp_xcalloc(MP_V_COUNT, sizeof(*s->verdicts));
	mp_verdict_t *v = &s->verdicts[s->nverdicts++];
	v->id = id;
	snprintf(v->evidence, sizeof(v->evidence), "%s", evidence);
	snprintf(v->suggestion, sizeof(v->suggestion), "%s", suggestion);
}

/* uthash has no per-table reserve: the initial bucket count is a compile-time constant. It
 * expands as soon as one chain reaches HASH_BKT_CAPACITY_THRESH (10) items. With n items hashed
 * into b buckets a chain's length is about Poisson(n / b), so the chance that one of them
 * reaches 10 is about b * P(X >= 10). The suggestion is the log2 of the fewest buckets (32,
 * uthash's default, at least) that keep it under MP_UTHASH_EXPAND_SHARE. */
static double chain_reaches(double lambda)
{
	if (lambda >= 5) /* P(X >= 10) is past 3%: any table of 32 buckets or more fails */
		return 1;
	double p = exp(-lambda), tail = 0; /* summed upward: 1 - cdf would cancel */
	for (int k = 0; k < 60; k++) {
		if (k >= MP_UTHASH_CHAIN_THRESH)
			tail += p;
		p *= lambda / (k + 1);
	}
	return tail;
}

static unsigned uthash_log2_for(uint64_t n)
{
	unsigned k = 5; /* uthash's default, 32 buckets */
	while (k < 30 &&
	       (double)((uint64_t)1 << k) * chain_reaches((double)n / (double)((uint64_t)1 << k)) >
		   MP_UTHASH_EXPAND_SHARE)
		k++;
	return k;
}

/* The fewest grows a map of this kind makes to hold n elements from empty, where its growth is
 * known: libstdc++'s first grow (to 13 buckets), then one per doubling (its primes about
 * double: 29, 59, 127, ...); uthash, one per doubling past 64 items (2 per bucket of its first
 * 32). 0 for the others (an API table's growth is its own). */
static uint64_t grows_to_hold(uint32_t kind, uint64_t n)
{
	uint64_t g = 0, cap;
	if (kind == MP_KIND_UNORDERED_MAP && n > 0) {
		g = 1;
		cap = 13;
	} else if (kind == MP_KIND_UTHASH) {
		cap = 64;
	} else {
		return 0;
	}
	for (; cap < n && cap <= UINT64_MAX / 2; g++)
		cap *= 2;
	return g;
}

/* The instances whose final size lies in a histogram bucket above p90's (*above), and the grows
 * they made, as estimated from their sizes: each what a map of its bucket's smallest size
 * grows from empty, at most the most grows of one instance. */
static uint64_t tail_grows(const mp_churn_site_t *s, uint64_t *above)
{
	uint64_t grows = 0;
	*above = 0;
	for (int b = 1; b < MP_HIST_SIZE_BUCKETS && b - 1 < 64; b++) {
		uint64_t lo = (uint64_t)1 << (b - 1);
		if (lo <= s->size_p90 || !s->size_hist[b])
			continue;
		uint64_t g = grows_to_hold(s->kind, lo), n = s->size_hist[b];
		if (g > s->max_grows)
			g = s->max_grows;
		*above += n;
		grows = mp_add_sat_u64(grows, g && n > UINT64_MAX / g ? UINT64_MAX : n * g);
	}
	return grows;
}

/* The other uthash sites of s's file whose tables hold far fewer than `items` (p90 at most a
 * quarter): uthash's initial size is one for the whole file from its #define on, so a
 * presize for s gives them its buckets too (14 times the bytes of tiny tables, seen). The one
 * at the first line, and how many there are. */
static const mp_churn_site_t *smaller_in_file(const mp_churn_t *c, const mp_churn_site_t *s,
					      uint64_t items, size_t *count)
{
	const mp_churn_site_t *first = NULL;
	*count = 0;
	for (size_t i = 0; i < c->n; i++) {
		const mp_churn_site_t *o = &c->sites[i];
		if (o == s || o->kind != MP_KIND_UTHASH || strcmp(o->file, s->file) ||
		    o->size_p90 > items / 4)
			continue;
		(*count)++;
		if (!first || o->line < first->line)
			first = o;
	}
	return first;
}

/* p90 within MP_PRESIZE_MAX_SPREAD times p50, on the bounds the histogram gives (2^k - 1, or
 * the largest size seen): p50 <= 127 and p90 <= 511 are 4x apart, as the README says. */
static bool spread_ok(const mp_churn_site_t *s)
{
	return s->size_p90 <= MP_PRESIZE_MAX_SPREAD * (s->size_p50 + 1) - 1;
}

/* A site's maps split by the frame that called the site's (a helper that makes maps for
 * several callers): each caller's own figures, judged apart where the site as a whole is too
 * mixed for presize. parent[i]: the index of callers->sites[i]'s site. */
typedef struct {
	mp_churn_t by;
	uint32_t *parent;
	size_t cap_parent;
	/* by site: its first caller's index, and each caller's next of the same site (a chain
	 * ending in UINT32_MAX) */
	uint32_t *first, *next;
} callers_t;

static void caller_presize(mp_churn_site_t *s, const callers_t *cl, uint32_t self, bool late_big);

static void judge(mp_churn_site_t *s, const mp_churn_t *c, const callers_t *cl, uint32_t self)
{
	char ev[320], sg[640];
	double per = s->instances ? (double)s->grows / (double)s->instances : 0;
	bool reserves = (s->flags & MP_SITE_RESERVES) || s->reserved > 0;
	/* A site that reserves too little still grows after its reserves: that growth counts. */
	double beyond = s->instances && s->grows > s->reserved
			    ? (double)(s->grows - s->reserved) / (double)s->instances
			    : 0;
	/* reserve(p90) spares the grows of the instances up to p90, not those of the larger
	 * ones: a site of one-element maps and a few of 100000 grows 2.3 times each on average,
	 * all of it in the large ones, and reserve(1) spares nothing. The larger ones' grows,
	 * estimated from their sizes, are counted out: what remains is what the typical
	 * instance grew. */
	uint64_t above;
	uint64_t tail = tail_grows(s, &above);
	/* Maps that half or more of called reserve()/rehash() once filled (after their first
	 * grow), to far more buckets than any of them held (dump 1.8): that last grow is the
	 * costly one, and the presize advice spares the others only once it is gone. Not where a
	 * reserve ran at a max_load_factor of 1/8 or less (the program's choice). Known for
	 * unordered_map and the API, whose bucket counts are theirs (uthash has no reserve). */
	uint64_t late_each = s->late_reserved ? s->late_buckets / s->late_reserved : 0;
	bool late_big = (s->kind == MP_KIND_UNORDERED_MAP || s->kind == MP_KIND_API) &&
			s->late_reserved && 2 * s->late_reserved >= s->instances && s->max_size &&
			!(s->flags & MP_SITE_LOWLOAD) && late_each >= MP_OVERSIZED_MIN_BUCKETS &&
			late_each / MP_OVERSIZED_FACTOR >= s->max_size;
	/* A late reserve short of oversized still grows the maps after they were filled: sizing
	 * them for what they held spares the grows before it, not it. Moved before the inserts,
	 * it spares both; once per map only (one shrunk and refilled, reserved again each time,
	 * needs that reserve after each shrink: rereserved and SHRUNK, below). */
	bool late_move = s->kind == MP_KIND_UNORDERED_MAP && !late_big && s->late_reserved &&
			 2 * s->late_reserved >= s->instances && late_each > s->size_p90 &&
			 !(s->flags & MP_SITE_SHRUNK) &&
			 s->max_grows <= grows_to_hold(s->kind, s->max_size) + 1;
	uint64_t growth =
	    reserves ? (s->grows > s->reserved ? s->grows - s->reserved : 0) : s->grows;
	/* Nor is a late reserve that oversized names: presize is of what comes without it. */
	if (late_big) {
		growth = growth > s->late_reserved ? growth - s->late_reserved : 0;
		/* and the evidence's average is the one judged */
		if (s->instances) {
			per = (double)(s->grows > s->late_reserved ? s->grows - s->late_reserved
								   : 0) /
			      (double)s->instances;
			beyond = (double)growth / (double)s->instances;
		}
	}
	double typical = s->instances > above && growth > tail
			     ? (double)(growth - tail) / (double)(s->instances - above)
			     : 0;
	/* uthash tables that stopped expanding grew because their keys hash to few buckets
	 * (hash, below), not because they started small: a larger initial size does not spare
	 * those grows, it only makes them larger. Where half the site's tables or more did, its
	 * growth is the hash's. */
	bool hash_grows = s->noexpand > 0 && s->noexpand >= s->instances - s->noexpand;
	/* A map (or a few) that the program shrinks and fills again regrows at every refill: a
	 * pattern within each instance, seen without many of them. Its grows are more than twice
	 * what reaching its largest size once takes (a doubling each, from one bucket). */
	uint64_t once = (uint64_t)(64 - __builtin_clzll(s->max_size | 1));
	bool refills = (s->flags & MP_SITE_SHRUNK) && s->max_grows > 2 * once + 2;
	/* The same, where the program reserves again after each shrink (the map then regrows by
	 * that reserve, not by inserts, so it is not SHRUNK): late reserves, and a map grown far
	 * more often than filling it once takes. */
	bool rereserved = s->kind == MP_KIND_UNORDERED_MAP && !refills && s->late_reserved &&
			  2 * s->late_reserved >= s->instances && s->max_grows > 2 * once + 2;
	if ((s->instances >= MP_PRESIZE_MIN_INSTANCES || refills) &&
	    typical >= MP_PRESIZE_MIN_GROWS && spread_ok(s) && !hash_grows) {
		uint64_t n = s->size_p90;
		/* Some instances reserve, not all (a line that makes maps for several callers, an
		 * API site): "after their reserve()" would speak for all of them. */
		bool some = reserves && s->reserved < s->instances;
		char rsv[96] = "";
		if (some)
			snprintf(rsv, sizeof(rsv),
				 " beyond their reserves (%" PRIu64 " of all %" PRIu64
				 " sized up front)",
				 s->reserved, s->instances);
		else if (reserves)
			snprintf(rsv, sizeof(rsv), " after their reserve()");
		/* The average judged: of the instances up to p90 where larger ones are counted out
		 * (their grows, the max among them, are not what reserve(p90) spares) */
		char big[128] = "", max[96];
		if (above)
			snprintf(big, sizeof(big),
				 "; %" PRIu64 " larger, up to %" PRIu64
				 ", counted out with their grows",
				 above, s->max_size);
		snprintf(max, sizeof(max), " (max %" PRIu64 "%s)", s->max_grows,
			 late_big   ? ", the late reserve included"
			 : reserves ? ", the reserve included"
				    : "");
		/* The max is one instance's grows, its reserve among them */
		if (s->instances < MP_PRESIZE_MIN_INSTANCES) /* refills */
			snprintf(ev, sizeof(ev),
				 "%" PRIu64 " instance(s) grew %" PRIu64
				 " times in all (max %" PRIu64 "), up to %" PRIu64
				 " elements: maps here are shrunk and filled again",
				 s->instances, s->grows, s->max_grows, s->max_size);
		else
			snprintf(ev, sizeof(ev),
				 "%" PRIu64 " instances grew %.1f times each on average%s%s to "
				 "similar final sizes: p50 <= %" PRIu64 ", p90 <= %" PRIu64
				 " elements%s",
				 s->instances - above,
				 above	    ? typical
				 : reserves ? beyond
					    : per,
				 rsv, above ? "" : max, s->size_p50, s->size_p90, big);
		if (s->kind == MP_KIND_UTHASH) {
			size_t others;
			const mp_churn_site_t *o = smaller_in_file(c, s, n, &others);
			char also[256] = "";
			if (o)
				snprintf(
				    also, sizeof(also),
				    "; the tables at line %" PRId64 " (p90 <= %" PRIu64
				    ")%s hold far fewer: make them before it, or #undef and "
				    "restore the values they had (uthash's defaults: 5U and 32U) "
				    "after these tables' code",
				    o->line, o->size_p90, others > 1 ? " and others" : "");
			snprintf(sg, sizeof(sg),
				 "uthash cannot reserve per table: after #include \"uthash.h\", "
				 "#undef and redefine HASH_INITIAL_NUM_BUCKETS_LOG2 as %uU and "
				 "HASH_INITIAL_NUM_BUCKETS as %" PRIu64 "U (for ~%" PRIu64
				 " items; every table whose first HASH_ADD comes after it in that "
				 "file gets it%s), or keep one table alive and reuse it",
				 uthash_log2_for(n), (uint64_t)1 << uthash_log2_for(n), n, also);
		} else if (s->kind == MP_KIND_API && (s->flags & MP_SITE_SHRUNK)) {
			/* as for unordered_map below: the shrink is the cause, not the size */
			snprintf(sg, sizeof(sg),
				 "the program shrinks tables here (a grow reported to fewer "
				 "buckets) and fills them again: drop the shrink, or size the "
				 "table again right after it for what comes (%" PRIu64
				 " at most, held before)",
				 n);
		} else if (s->kind == MP_KIND_API) {
			/* a home-made table: no reserve() of libstdc++'s */
			snprintf(sg, sizeof(sg),
				 "%s for %" PRIu64 " elements when %s: %s then never grows for "
				 "90%% of the instances",
				 some	    ? "size every table"
				 : reserves ? "the initial size is too small: "
					      "size the tables"
					    : "size the table",
				 n, some || reserves ? "they are created" : "it is created",
				 some || reserves ? "a table" : "it");
		} else if (rereserved) {
			snprintf(
			    sg, sizeof(sg),
			    "maps here are given a reserve() or rehash() again and again once "
			    "filled (one grew %" PRIu64 " times, where filling it once to %" PRIu64
			    " elements takes about %" PRIu64 "): if the program shrinks them in "
			    "between (rehash(0), or reserve() below the size), drop the shrink and "
			    "the reserve() after it: erase and clear() keep the buckets",
			    s->max_grows, s->max_size, once);
		} else if (late_move) {
			snprintf(
			    sg, sizeof(sg),
			    "%" PRIu64 " of them were given a reserve() or rehash() after they "
			    "were filled, to ~%" PRIu64 " buckets each, which grew them once "
			    "more: make that call right after creating the map, before the "
			    "inserts, and drop the later one: the map then never grows for 90%% "
			    "of the instances",
			    s->late_reserved, late_each);
		} else if (s->flags & MP_SITE_SHRUNK) {
			/* The program shrinks them (rehash(0) after erasing): a reserve at creation
			 * does not outlive that, the shrink is the cause. */
			/* The size refilled to is not known: n is the most held, whenever. */
			snprintf(
			    sg, sizeof(sg),
			    "the program shrinks maps here (rehash() or reserve() to fewer "
			    "buckets) "
			    "and fills them again: drop the shrink (erase and clear() keep the "
			    "buckets), or reserve() again right after it for what comes (%" PRIu64
			    " at most, held before)",
			    n);
		} else if (reserves && s->lf_lowered && 2 * s->lf_lowered >= s->reserved) {
			/* reserve(n) sizes for the load factor of its time: one set lower after it
			 * makes the map grow past any reserve (seen in half the reserving maps or
			 * more; the others' reserve may just be too small). */
			snprintf(
			    sg, sizeof(sg),
			    "max_load_factor() is set lower after reserve(), which sized the "
			    "maps for the load factor before it: call max_load_factor() first, "
			    "then reserve(%" PRIu64 "); the map then never grows for 90%% of the "
			    "instances",
			    n);
		} else if (some) {
			snprintf(sg, sizeof(sg),
				 "reserve(%" PRIu64 ") for every instance, right after creating "
				 "it: the map then never grows for 90%% of the instances",
				 n);
		} else if (reserves) {
			snprintf(sg, sizeof(sg),
				 "the reserve is too small: reserve(%" PRIu64 ") instead, and the "
				 "map then never grows for 90%% of the instances",
				 n);
		} else if (2 * s->copies >= s->instances) {
			snprintf(
			    sg, sizeof(sg),
			    "call reserve(%" PRIu64
			    ") on the map right after it is copied (%" PRIu64
			    " of the instances are copies of other maps, or were assigned one; or "
			    "make it with %" PRIu64 " buckets and insert() the other's elements, "
			    "which spares rehashing them): it then never grows for 90%% of the "
			    "instances",
			    n, s->copies, n);
		} else if (2 * s->moved_out >= s->instances) {
			/* Moved out, or replaced by an empty map, after each fill: the map left
			 * behind restarts from one bucket, whether it is the same object (hoisted)
			 * or a new one (a local per call); a constructor's bucket count sizes only
			 * the fill after it. */
			snprintf(
			    sg, sizeof(sg),
			    "call reserve(%" PRIu64 ") on the map before each fill (%" PRIu64
			    " of the instances were moved out of the map they were filled in, or "
			    "replaced by an empty one, which leaves it one bucket: a bucket count "
			    "given to a constructor sizes only the fill right after it): it then "
			    "never grows for 90%% of the instances",
			    n, s->moved_out);
		} else {
			/* A range constructor fills the map itself: there is no "before" to reserve
			 * in, but its bucket-count argument sizes it first. */
			snprintf(
			    sg, sizeof(sg),
			    "call reserve(%" PRIu64 ") on the map before it is filled, or give "
			    "its constructor %" PRIu64 " as the bucket count (one built from a "
			    "range fills itself; a map emptied by assigning it an empty one needs "
			    "the reserve() again): it then never grows for 90%% of the instances",
			    n, n);
		}
		if (late_big) { /* its promise holds without the late reserve, which grows it */
			size_t len = strlen(sg);
			snprintf(sg + len, sizeof(sg) - len, ", once the %s below is dropped",
				 s->kind == MP_KIND_API ? "late resize" : "late reserve()");
		}
		verdict(s, MP_V_PRESIZE, ev, sg);
	} else if (cl && s->kind == MP_KIND_UNORDERED_MAP) {
		/* (uthash's initial size is per file, not per caller; an API table's size is
		 * its own code's) */
		caller_presize(s, cl, self, late_big);
	}
	if (!cl) /* a caller's share of a site: only its presize is read */
		return;
	uint64_t turnover = s->max_live ? s->instances / s->max_live : 0;
	if (s->instances >= MP_REUSE_MIN_INSTANCES && turnover >= MP_REUSE_MIN_TURNOVER &&
	    s->life_p90 <= MP_REUSE_MAX_LIFE_NS) {
		char life[32];
		mp_report_value(life, sizeof(life), (int64_t)s->life_p90, "nanoseconds");
		snprintf(ev, sizeof(ev),
			 "%" PRIu64 " instances made one after another (at most %" PRIu64
			 " alive at once), p90 lifetime <= %s",
			 s->instances, s->max_live, life);
		/* uthash frees a table with its last item (HASH_CLEAR, or HASH_DEL of each):
		 * emptying one does not keep its buckets the way clear() does. */
		/* Several alive at once in a process (several per call, or a line that a pool's
		 * threads run at once): one hoisted map would not do, and would be shared between
		 * threads. Processes are apart: their sum is no reason. */
		uint64_t alive = s->max_live_proc;
		char keep[160] = "";
		if (alive > 1)
			snprintf(keep, sizeof(keep),
				 "; %" PRIu64 " at most, or one per thread (thread_local) where "
				 "threads make them at once",
				 alive);
		if (s->kind == MP_KIND_UTHASH)
			snprintf(
			    sg, sizeof(sg),
			    "keep %s alive and reuse %s (uthash frees a table with its last "
			    "item: keep a sentinel item in it, or keep the items and overwrite "
			    "them%s), or pool the tables",
			    alive > 1 ? "the tables" : "one table", alive > 1 ? "them" : "it",
			    keep);
		else if (s->kind == MP_KIND_API)
			snprintf(sg, sizeof(sg),
				 "%s and reuse %s (empty %s without freeing the buckets%s), or "
				 "pool the tables",
				 alive > 1 ? "keep the tables alive" : "keep one table alive",
				 alive > 1 ? "them" : "it", alive > 1 ? "them" : "it", keep);
		else if (2 * s->copies >= s->instances)
			/* Each a copy of another map, or assigned one over it (operator= takes the
			 * other's bucket count: a new array): hoisting does not keep buckets, and
			 * the map may be hoisted already. */
			snprintf(
			    sg, sizeof(sg),
			    "%" PRIu64 " of them are copies of other maps (copy-constructed, or "
			    "assigned with operator=, which gives each a new bucket array): keep "
			    "%s map%s and refill %s with clear() and insert(other.begin(), "
			    "other.end()) instead, which keeps the buckets%s",
			    s->copies, alive > 1 ? "the" : "one", alive > 1 ? "s" : "",
			    alive > 1 ? "them" : "it", keep);
		else if (2 * s->moved_out >= s->instances)
			/* The map is filled, then moved out (into a by-value parameter, another
			 * map) or replaced by an empty one (swapped with it, or assigned it), and
			 * the buckets go along: the map left behind starts from one bucket, be it
			 * hoisted already or a local made per call (the dump cannot tell). */
			snprintf(
			    sg, sizeof(sg),
			    "%s and reuse %s (%" PRIu64
			    " of them were moved out of the map they were filled in, with "
			    "std::move into a by-value parameter or another map, or replaced "
			    "by an empty map, swapped with one or assigned one: the map left "
			    "starts again from one bucket; pass %s by reference instead, "
			    "and empty %s with clear(), which keeps the buckets%s), or pool the "
			    "maps",
			    alive > 1 ? "keep the maps alive" : "keep one map alive",
			    alive > 1 ? "them" : "it", s->moved_out, alive > 1 ? "them" : "it",
			    alive > 1 ? "them" : "it", keep);
		else
			/* A map hoisted already but reset by assigning or swapping in a new one is
			 * an instance per reset, as a map made per call is. One returned by value
			 * lives in its caller's frame (the dump cannot tell): hoisting it in the
			 * function that fills it would copy it out on every return (black-box QA:
			 * twice the allocations, and no grow left to see). */
			snprintf(sg, sizeof(sg),
				 "%s and reuse %s (clear() keeps the buckets; assigning an empty "
				 "map or swapping with one does not%s; a map returned by value is "
				 "kept by the caller instead, and passed in by reference), or pool "
				 "the maps",
				 alive > 1 ? "keep the maps alive" : "hoist one map",
				 alive > 1 ? "them" : "it", keep);
		verdict(s, MP_V_REUSE, ev, sg);
	}
	/* A std::unordered_map reserved and then given its elements by assignment was seen
	 * holding nothing (operator= passes no rehash policy): its size is unknown, not tiny.
	 * Such maps are among the reserved ones never seen holding an element (size_hist[0]:
	 * the largest size seen); counted out of the tiny ones (and of those that held more),
	 * not of the whole: they may be as large as the others. */
	uint64_t tiny = s->tiny, known = s->instances;
	if (s->kind == MP_KIND_UNORDERED_MAP) {
		uint64_t unknown = s->size_hist[0] < s->reserved ? s->size_hist[0] : s->reserved;
		tiny = tiny > unknown ? tiny - unknown : 0;
		known = known > unknown ? known - unknown : 0;
	}
	if (s->instances >= MP_TINY_MIN_INSTANCES &&
	    (double)tiny >= MP_TINY_MIN_SHARE * (double)s->instances) {
		snprintf(ev, sizeof(ev),
			 "%" PRIu64 " of %" PRIu64 " instances never held more than %d elements",
			 tiny, s->instances, MP_TINY_MAX_ELEMENTS);
		/* The others may be large: a flat array alone would search them linearly. */
		if (s->max_size > MP_TINY_MAX_ELEMENTS)
			snprintf(sg, sizeof(sg),
				 "keep up to %d entries in a small flat array (linear search) and "
				 "build the hash map only when one more comes: %" PRIu64
				 " instances held more, up to %" PRIu64 " elements",
				 MP_TINY_MAX_ELEMENTS, known - tiny, s->max_size);
		else
			snprintf(sg, sizeof(sg),
				 "use a small flat array (linear search over <= %d entries) "
				 "instead of a hash map",
				 MP_TINY_MAX_ELEMENTS);
		verdict(s, MP_V_TINY, ev, sg);
	}
	/* Threads taking turns with a map (or using it at once), not one handing it to the next
	 * (a producer that fills it, a consumer that grows it on): that is no sharing. */
	if (s->turns >= MP_SHARED_MIN_INSTANCES) {
		/* max_threads is the site's most, not every instance's: "up to" */
		/* More than 4: its threads past the first 4 are not told apart */
		char by[48];
		if (s->max_threads > 4)
			snprintf(by, sizeof(by), "by 5 threads or more");
		else
			snprintf(by, sizeof(by), "by up to %" PRIu64 " threads", s->max_threads);
		snprintf(ev, sizeof(ev),
			 "%" PRIu64 " instance(s) grown by threads in turn (one thread, another, "
			 "then the first again), %s",
			 s->turns, by);
		/* A pool or a queue that hands maps back and forth looks the same from here:
		 * nothing to change there. */
		snprintf(sg, sizeof(sg),
			 "if threads use the map at once, check that every write to it holds one "
			 "lock, or use a concurrent map (or one map per thread, merged); if it is "
			 "handed back and forth (a pool, a queue), each thread alone with it, "
			 "nothing to change");
		verdict(s, MP_V_SHARED, ev, sg);
	}
	/* uthash stops expanding a table when two expansions in a row left over half its items
	 * in chains longer than it wants: its keys hash to few buckets, and every lookup walks
	 * a long chain from then on. Keys added twice do the same (uthash does not check). */
	if (s->noexpand >= MP_HASH_MIN_INSTANCES) {
		snprintf(ev, sizeof(ev),
			 "%" PRIu64 " of %" PRIu64 " instances stopped expanding: their keys hash "
			 "to too few buckets (or the same keys were added many times), so lookups "
			 "walk long chains",
			 s->noexpand, s->instances);
		snprintf(
		    sg, sizeof(sg),
		    "if a key may already be in the table, HASH_FIND it before HASH_ADD (or use "
		    "HASH_REPLACE): uthash adds duplicates; if HASH_FUNCTION is redefined, go "
		    "back to uthash's default (HASH_JEN) or use #define HASH_FUNCTION(k, n, h) "
		    "HASH_SFH(k, n, h); check that the key bytes differ between keys (struct "
		    "padding, a shared prefix)");
		verdict(s, MP_V_HASH, ev, sg);
	}
	/* Maps whose one grow is a reserve() far beyond what they ever hold: the bucket array is
	 * allocated and cleared whole, and clear() and iteration walk every bucket. Not where a
	 * reserve ran at a max_load_factor of 1/8 or less (dump 1.5): 8 buckets per element or
	 * more were the program's choice, and reserve(held) would ask for as many again. (A
	 * reserve far beyond what such maps hold is missed; one instance marks its site.) Known for
	 * std::unordered_map, whose bucket is a pointer (an API table's bytes per bucket are its
	 * own). Not for maps seen holding nothing: elements that come by copy or move assignment
	 * pass no rehash policy, unseen (a reserved map assigned a full one read as empty). */
	if (s->kind == MP_KIND_UNORDERED_MAP && s->instances && s->max_size &&
	    s->reserved == s->instances && s->grows == s->instances &&
	    !(s->flags & MP_SITE_LOWLOAD)) {
		uint64_t buckets = s->grow_bytes / s->instances / sizeof(void *);
		uint64_t held = s->max_size;
		if (buckets >= MP_OVERSIZED_MIN_BUCKETS && buckets / MP_OVERSIZED_FACTOR >= held) {
			char each[32];
			mp_report_value(each, sizeof(each), (int64_t)(s->grow_bytes / s->instances),
					"bytes");
			snprintf(ev, sizeof(ev),
				 "%" PRIu64 " instance(s) reserved ~%" PRIu64
				 " buckets each (%s of bucket array) and held at most %" PRIu64
				 " element%s",
				 s->instances, buckets, each, s->max_size,
				 s->max_size == 1 ? "" : "s");
			snprintf(sg, sizeof(sg),
				 "reserve(%" PRIu64 ") is enough for what these maps held: a "
				 "smaller array allocates less, and clear() and iteration walk "
				 "fewer buckets",
				 held);
			verdict(s, MP_V_OVERSIZED, ev, sg);
		}
	}
	/* Maps reserved and never seen holding an element: they stayed empty, or got their
	 * elements by assignment, which brings the other map's bucket count (a copy) or array (a
	 * move). Either way the reserve allocated and cleared its array for nothing. */
	if (s->kind == MP_KIND_UNORDERED_MAP && s->instances && !s->max_size &&
	    s->reserved == s->instances && s->grows == s->instances &&
	    !(s->flags & MP_SITE_LOWLOAD) &&
	    s->grow_bytes / s->instances / sizeof(void *) >= MP_OVERSIZED_MIN_BUCKETS) {
		char each[32];
		mp_report_value(each, sizeof(each), (int64_t)(s->grow_bytes / s->instances),
				"bytes");
		snprintf(ev, sizeof(ev),
			 "%" PRIu64 " instance(s) reserved ~%" PRIu64 " buckets each (%s of bucket "
			 "array) and were never seen holding an element",
			 s->instances, s->grow_bytes / s->instances / sizeof(void *), each);
		snprintf(sg, sizeof(sg),
			 "drop the reserve(): a map that stays empty needs no buckets, and one "
			 "that is assigned another map (operator=, whose elements are not seen "
			 "here) takes that map's bucket count or array instead");
		verdict(s, MP_V_OVERSIZED, ev, sg);
	}
	if (late_big) {
		snprintf(ev, sizeof(ev),
			 "%" PRIu64 " of %" PRIu64 " instance(s) were %s after they were filled, "
			 "to ~%" PRIu64 " buckets each, and held at most %" PRIu64 " element%s",
			 s->late_reserved, s->instances,
			 s->kind == MP_KIND_API ? "resized on purpose (MAPPROF_MAP_RESERVE)"
						: "given a reserve() or rehash()",
			 late_each, s->max_size, s->max_size == 1 ? "" : "s");
		if (s->kind == MP_KIND_API)
			snprintf(sg, sizeof(sg),
				 "drop that resize, or size it for %" PRIu64
				 " elements: a smaller table allocates less, and clearing and "
				 "iterating it walk fewer buckets",
				 s->max_size);
		else
			snprintf(
			    sg, sizeof(sg),
			    "drop that reserve()/rehash(), or make it reserve(%" PRIu64
			    "): a smaller array allocates less, and clear() and iteration walk "
			    "fewer buckets",
			    s->max_size);
		verdict(s, MP_V_OVERSIZED, ev, sg);
	}
	/* Growth means grows beyond the reserves: a site whose every grow is an instance's one
	 * reserve()/rehash() has sized its maps already, and its bucket arrays are the maps
	 * themselves, not growth (a reserved std::unordered_set<int> of 2^20 elements has its
	 * one array at a third of all bytes). */
	/* Nor is a std::unordered_map's first array, which its first grow allocates (from the
	 * built-in bucket): a site whose maps each grew once has no more arrays than maps,
	 * whatever they cost (a thousand maps of 10 elements each); a copy's first grow seen is
	 * growth (its array came with the copy). uthash makes a table's first array with it, and an
	 * API table may have one from its creation: every grow counts. */
	uint64_t extra = s->grows > s->reserved ? s->grows - s->reserved : 0;
	if (s->kind == MP_KIND_UNORDERED_MAP) {
		uint64_t base = s->instances > s->copies ? s->instances - s->copies : 0;
		uint64_t beyond_first = s->grows > base ? s->grows - base : 0;
		extra = extra < beyond_first ? extra : beyond_first;
	}
	/* ...and grows beyond them in more than a few of its maps: one map in thousands that
	 * outgrew its reserve (or grew twice) leaves the others' arrays what they were. */
	bool grew = extra > 0 && (double)extra >= MP_DOMINANT_MIN_GROWTH * (double)s->instances;
	bool bytes = s->grow_bytes_share >= MP_DOMINANT_BYTES_SHARE;
	/* Time without the longest grow: one grow preempted by the scheduler must not make a site
	 * dominant in a short run. */
	double steady = c->thread_ns && s->grow_ns > s->max_grow_ns
			    ? (double)(s->grow_ns - s->max_grow_ns) / (double)c->thread_ns
			    : 0;
	bool time = steady >= MP_DOMINANT_TIME_SHARE;
	if (grew && (bytes || time)) {
		/* time is judged without the longest grow: said when that is what decided */
		char judged[64] = "";
		if (time && !bytes)
			snprintf(judged, sizeof(judged), " (%.1f%% without its longest grow)",
				 100 * steady);
		/* A grow is timed to the free of the array it replaces (none: a std::pmr resource;
		 * an API site that passed no duration): its time is unknown, not 0% */
		char took[96] = ", its grow time not measured";
		if (s->grow_ns)
			snprintf(took, sizeof(took), " and took %.1f%% of the time measured",
				 100 * s->grow_time_share);
		snprintf(ev, sizeof(ev),
			 "growth here allocated %.1f%% of all bytes allocated%s%s%s",
			 100 * s->grow_bytes_share,
			 c->with_maps < c->processes ? " with map tracking on" : "", took, judged);
		/* No other verdict: too few maps for a pattern (one map filled once to a million
		 * elements). Its growth is spared only by sizing it up front, if its size is
		 * known then. */
		char how[320] = "";
		if (s->nverdicts)
			snprintf(how, sizeof(how), " (see the other verdicts for how)");
		else if (!s->max_size || s->late_reserved || (s->flags & MP_SITE_SHRUNK))
			; /* no size seen to give, or sized again after they were filled */
		else if (s->reserved && s->kind == MP_KIND_UNORDERED_MAP)
			snprintf(how, sizeof(how),
				 ": the reserve() is too small for the largest map here (%" PRIu64
				 " elements, %" PRIu64 " grows): reserve(%" PRIu64
				 ") if its size is known when it is made",
				 s->max_size, s->max_grows, s->max_size);
		else if (s->reserved)
			; /* an API table sized too small: its size is its code's */
		else if (s->kind == MP_KIND_UTHASH)
			snprintf(
			    how, sizeof(how),
			    ": if the tables' size is known before they are filled, make them "
			    "that large (after #include \"uthash.h\", #undef and redefine "
			    "HASH_INITIAL_NUM_BUCKETS_LOG2 as %uU and HASH_INITIAL_NUM_BUCKETS "
			    "as %" PRIu64 "U for %" PRIu64 " items)",
			    uthash_log2_for(s->max_size),
			    (uint64_t)1 << uthash_log2_for(s->max_size), s->max_size);
		else if (s->kind == MP_KIND_API)
			snprintf(how, sizeof(how),
				 ": if the size is known before the table is filled, size it for "
				 "that when it is created (at most %" PRIu64 " element%s here)",
				 s->max_size, s->max_size == 1 ? "" : "s");
		else
			snprintf(how, sizeof(how),
				 ": if the size is known before the map is filled, reserve() it "
				 "first (a map here held up to %" PRIu64 " elements and grew up to "
				 "%" PRIu64 " times)",
				 s->max_size, s->max_grows);
		snprintf(sg, sizeof(sg),
			 "start here: this site's growth is a large part of the run's cost%s", how);
		verdict(s, MP_V_DOMINANT, ev, sg);
	}
}

/* Whether caller site o grew more than b: the same choice in any order of the dumps. */
static bool grew_more(const mp_churn_site_t *o, const mp_churn_site_t *b)
{
	if (o->grows != b->grows)
		return o->grows > b->grows;
	int r = strcmp(o->function, b->function);
	if (!r)
		r = strcmp(o->file, b->file);
	return r ? r < 0 : o->line < b->line;
}

/* No presize for s as a whole: one of its callers' maps may still qualify (a helper that
 * builds maps of 1000 for one caller and of 10 for another has p50 and p90 far apart). The
 * caller whose maps grew most among those that do, named, when there are several callers. */
static void caller_presize(mp_churn_site_t *s, const callers_t *cl, uint32_t self, bool late_big)
{
	const mp_churn_site_t *best = NULL;
	size_t callers = 0, qualify = 0;
	for (uint32_t i = cl->first[self]; i != UINT32_MAX; i = cl->next[i]) {
		callers++;
		const mp_churn_site_t *o = &cl->by.sites[i];
		if (!o->nverdicts || o->verdicts[0].id != MP_V_PRESIZE)
			continue;
		qualify++;
		if (!best || grew_more(o, best))
			best = o;
	}
	if (!best || callers < 2)
		return;
	char who[160], at[160] = "", others[96] = "";
	own_name(best->function, who, sizeof(who));
	if (best->file[0]) { /* its file's name only: the evidence has room for 320 bytes */
		const char *base = strrchr(best->file, '/');
		snprintf(at, sizeof(at), " (%s:%" PRId64 ")", base ? base + 1 : best->file,
			 best->line);
	}
	if (qualify > 1)
		snprintf(others, sizeof(others),
			 "; %zu of the %zu callers' maps qualify, this one's grew most", qualify,
			 callers);
	verdict(s, MP_V_PRESIZE, "", best->verdicts[0].suggestion);
	mp_verdict_t *v = &s->verdicts[s->nverdicts - 1];
	/* A long name may cut the texts short: still whole up to there. */
	if (snprintf(v->evidence, sizeof(v->evidence),
		     "of the maps made here for %s%s, one of %zu callers: %s", who, at, callers,
		     best->verdicts[0].evidence) >= (int)sizeof(v->evidence))
		v->evidence[sizeof(v->evidence) - 1] = 0;
	/* "once the late reserve() below is dropped" is said of the caller's maps: the site's
	 * own oversized verdict may not be there to point at */
	static const char late[] = ", once the late reserve() below is dropped";
	size_t len = strlen(v->suggestion), n = sizeof(v->suggestion), ll = sizeof(late) - 1;
	if (!late_big && len > ll && !strcmp(v->suggestion + len - ll, late)) {
		len -= ll;
		len += (size_t)snprintf(v->suggestion + len, n - len,
					", once their reserve() after the inserts, oversized for "
					"them, is dropped");
		if (len >= n)
			len = n - 1;
	}
	if (snprintf(v->suggestion + len, n - len,
		     "; that is for the maps made for %s, whose size it knows (the other callers' "
		     "maps may differ: pass the size in, or reserve in the caller)%s",
		     who, others) >= (int)(n - len))
		v->suggestion[n - 1] = 0;
}

/* Worst first: sites with a verdict or that grew beyond their reserves (a site whose every
 * grow is its maps' one reserve has sized them: its bytes are the maps, not growth, as for
 * dominant; unless the reserve is oversized), then bytes allocated by growth, then grows, then
 * instances; ties by place. */
static int worse(const void *a, const void *b)
{
	const mp_churn_site_t *x = a, *y = b;
	bool gx = x->grows > x->reserved || x->nverdicts,
	     gy = y->grows > y->reserved || y->nverdicts;
	if (gx != gy)
		return gx ? -1 : 1;
	if (x->grow_bytes != y->grow_bytes)
		return x->grow_bytes > y->grow_bytes ? -1 : 1;
	if (x->grows != y->grows)
		return x->grows > y->grows ? -1 : 1;
	if (x->instances != y->instances)
		return x->instances > y->instances ? -1 : 1;
	int r = strcmp(x->file, y->file);
	if (r)
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	r = strcmp(x->function, y->function);
	if (r)
		return r;
	r = strcmp(x->container, y->container);
	return r ? r : (int)x->kind - (int)y->kind;
}

/* Maps alive at once, per line: a line is several sites (its callers' stacks), each with the
 * most of its own maps alive at once. Summed over processes (fork children, concurrent workers
 * may have theirs alive together), and over the sites of a line where nothing better is known;
 * but where the line's frame is among a site's first MP_SITE_PC_DEPTH, the dump (1.2) counted
 * the maps of every site with that frame's pc together (MAP_PC_LIVE): that count once, or the
 * sum of the sites' own if smaller. A line whose maps come through several pcs of its frame
 * (the calls of reserve() and of operator[] on one line) is bounded by its callers' frame too,
 * where every site's is also among its first MP_SITE_PC_DEPTH: each of its maps passes through
 * one of those pcs, so their counts summed (which include any other maps made under them) are
 * also at least its maps alive at once. Runs: one per site of a dump whose line frame has a
 * count. */
typedef struct {
	uint32_t site, dump, key;
	uint16_t kind;
	uint64_t pc, own, together;
	uint64_t caller, caller_together; /* the next frame's pc and count; 0: none known */
} live_run_t;

static int live_run_cmp(const void *a, const void *b)
{
	const live_run_t *x = a, *y = b;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	if (x->dump != y->dump)
		return x->dump < y->dump ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->pc != y->pc)
		return x->pc < y->pc ? -1 : 1;
	return x->caller < y->caller ? -1 : x->caller > y->caller;
}

/* The dump's count for the frame at location `at` of profile stack ps, if that frame is among
 * the first MP_SITE_PC_DEPTH of the site's dump stack; its pc in *pc. */
static const mp_dump_pc_live_t *pc_live_at(const mp_dump_t *d, const mp_dump_site_t *ds,
					   uint32_t key, const mp_profile_t *p, uint32_t ps,
					   uint32_t at, uint64_t *pc)
{
	*pc = 0;
	if (at >= mp_profile_stack_len(p, ps))
		return NULL;
	*pc = p->locations[mp_profile_stack_locs(p, ps)[at] - 1].address + 1;
	const uint64_t *pcs = mp_dump_stack_pcs(d, ds->stack);
	uint32_t n = mp_dump_stack_len(d, ds->stack);
	for (uint32_t e = 0; e < n && e < MP_SITE_PC_DEPTH; e++)
		if (pcs[e] == *pc)
			return mp_dump_pc_live(d, ds->kind, key, *pc);
	return NULL;
}

/* Site ds of dump d (number di) folded into line s (number si), its line at location `at` of
 * profile stack ps: its max_live goes to s now, or to a run. */
static void add_live(mp_churn_site_t *s, uint32_t si, const mp_dump_t *d, uint32_t di,
		     const mp_dump_site_t *ds, const mp_profile_t *p, uint32_t ps, uint32_t at,
		     live_run_t **runs, size_t *nruns, size_t *cap)
{
	uint32_t key = d->stack_key ? d->stack_key[ds->stack] : 0;
	uint64_t pc, caller;
	const mp_dump_pc_live_t *g = pc_live_at(d, ds, key, p, ps, at, &pc);
	if (!g) {
		s->max_live = mp_add_sat(s->max_live, ds->max_live);
		if (ds->max_live > s->max_live_proc)
			s->max_live_proc = ds->max_live;
		return;
	}
	/* The caller's frame: inlined callees are lines of one location, so the next location is
	 * the physical caller. */
	const mp_dump_pc_live_t *gc = pc_live_at(d, ds, key, p, ps, at + 1, &caller);
	MP_GROW(*runs, *cap, *nruns + 1);
	(*runs)[(*nruns)++] = (live_run_t){si,
					   di,
					   key,
					   ds->kind,
					   pc,
					   ds->max_live,
					   g->max_live,
					   gc ? caller : 0,
					   gc ? gc->max_live : 0};
}

static bool same_line_run(const live_run_t *x, const live_run_t *y)
{
	return x->site == y->site && x->dump == y->dump && x->key == y->key;
}

typedef struct {
	uint64_t pc, live;
} caller_t;

static int caller_cmp(const void *a, const void *b)
{
	uint64_t x = ((const caller_t *)a)->pc, y = ((const caller_t *)b)->pc;
	return x < y ? -1 : x > y;
}

/* Runs [i, j) of one line and dump: the callers' counts summed, each caller once (several pcs
 * of the line may share one; its count is the same in every run naming it), or UINT64_MAX if
 * a run has no caller's count. */
static uint64_t callers_live(const live_run_t *runs, size_t i, size_t j)
{
	caller_t *cs = mp_xcalloc(j - i, sizeof(*cs));
	for (size_t k = i; k < j; k++) {
		if (!runs[k].caller) {
			free(cs);
			return UINT64_MAX;
		}
		cs[k - i] = (caller_t){runs[k].caller, runs[k].caller_together};
	}
	qsort(cs, j - i, sizeof(*cs), caller_cmp);
	uint64_t sum = 0;
	for (size_t k = 0; k < j - i; k++)
		if (!k || cs[k].pc != cs[k - 1].pc)
			sum = mp_add_sat(sum, cs[k].live);
	free(cs);
	return sum;
}

static void settle_live(mp_churn_t *c, live_run_t *runs, size_t n)
{
	if (n)
		qsort(runs, n, sizeof(*runs), live_run_cmp);
	for (size_t i = 0; i < n;) {
		/* One line of one dump: per pc of its frame, that pc's count, or its sites' own
		 * summed if smaller; then at most its callers' counts. */
		uint64_t line = 0;
		size_t j = i;
		while (j < n && same_line_run(&runs[i], &runs[j])) {
			size_t k = j;
			uint64_t own = 0;
			for (;
			     k < n && same_line_run(&runs[j], &runs[k]) && runs[k].pc == runs[j].pc;
			     k++)
				own = mp_add_sat(own, runs[k].own);
			line = mp_add_sat(line, own < runs[j].together ? own : runs[j].together);
			j = k;
		}
		uint64_t callers = callers_live(runs, i, j);
		uint64_t here = callers < line ? callers : line;
		mp_churn_site_t *s = &c->sites[runs[i].site];
		s->max_live = mp_add_sat(s->max_live, here);
		if (here > s->max_live_proc)
			s->max_live_proc = here;
		i = j;
	}
}

/* A site's percentiles and shares, once its dumps are folded in. */
static void derive(mp_churn_site_t *s, const mp_churn_t *c, uint64_t all_bytes)
{
	s->size_p50 = quantile(s->size_hist, MP_HIST_SIZE_BUCKETS, 0.5, s->max_size);
	s->size_p90 = quantile(s->size_hist, MP_HIST_SIZE_BUCKETS, 0.9, s->max_size);
	s->life_p50 = quantile(s->life_hist, MP_HIST_LIFE_BUCKETS, 0.5, 0);
	s->life_p90 = quantile(s->life_hist, MP_HIST_LIFE_BUCKETS, 0.9, 0);
	/* More than was allocated at all cannot have come from malloc (an API map's arrays,
	 * taken as malloc's, from an arena of the program's) */
	if (s->heap_grow_bytes > all_bytes)
		s->heap_grow_bytes = 0;
	s->grow_bytes_share = all_bytes ? (double)s->heap_grow_bytes / (double)all_bytes : 0;
	s->grow_time_share = c->thread_ns ? (double)s->grow_ns / (double)c->thread_ns : 0;
}

void mp_churn_build(mp_churn_t *c, const mp_inputs_t *in, mp_symbolizer_t *sym)
{
	memset(c, 0, sizeof(*c));
	mp_profile_t scratch; /* the stacks machinery builds locations into a profile */
	mp_profile_init(&scratch);
	mp_stacks_t st;
	mp_stacks_init(&st, &scratch, sym);
	mp_htab_t index = {0};
	char buf[MP_FRAME_NAME_MAX], bare_buf[BARE_FRAMES * (MP_FRAME_NAME_MAX + 3)], cont[4096];
	live_run_t *runs = NULL;
	size_t nruns = 0, cap_runs = 0;
	callers_t cl;
	memset(&cl, 0, sizeof(cl));
	mp_htab_t cl_index = {0};
	char cbuf[MP_FRAME_NAME_MAX];
	c->processes = in->n;
	for (size_t i = 0; i < in->n; i++) {
		const mp_dump_t *d = &in->dumps[i];
		uint64_t span = d->dump_ns > d->start_ns ? (uint64_t)(d->dump_ns - d->start_ns) : 0;
		c->duration_ns += span;
		for (uint32_t k = 0; k < d->nstats; k++)
			add_stat(c, d->stats[k].key, d->stats[k].value);
		c->stat_processes += d->nstats > 0;
		if (!d->has_sites && !(d->flags & MP_HDR_MAPS_ENABLED))
			continue;
		c->with_maps++;
		/* Grows on several threads at once add up to more than the run's duration (a
		 * share of 368% with 32 threads): time is counted per thread that grew maps. */
		c->thread_ns += d->totals.grow_thread_ns > span ? d->totals.grow_thread_ns : span;
		c->tracked_bytes = mp_add_sat_u64(c->tracked_bytes, d->totals.alloc_bytes);
		mp_stacks_begin(&st, d);
		for (uint32_t j = 0; j < d->nsites; j++) {
			const mp_dump_site_t *ds = &d->sites[j];
			const char *fn, *file;
			int64_t line;
			uint32_t ps = mp_stacks_get(&st, ds->stack), at, atk;
			bool bare;
			bool user =
			    pick_frame(&scratch, ps, &fn, &file, &line, &at, &atk, &bare, buf,
				       sizeof(buf), bare_buf, sizeof(bare_buf), cont, sizeof(cont));
			mp_churn_site_t *s = site_for(c, &index, ds->kind, fn, file, line, cont);
			const char *cfn, *cfile;
			int64_t cline;
			/* Bare sites are apart by caller already (bare_path) */
			if (user && !bare &&
			    caller_of(&scratch, ps, at, atk, &cfn, &cfile, &cline, cbuf,
				      sizeof(cbuf))) {
				char key[24];
				snprintf(key, sizeof(key), "%zu", (size_t)(s - c->sites));
				size_t had = cl.by.n;
				mp_churn_site_t *o =
				    site_for(&cl.by, &cl_index, ds->kind, cfn, cfile, cline, key);
				if (cl.by.n > had) {
					MP_GROW(cl.parent, cl.cap_parent, cl.by.n);
					cl.parent[had] = (uint32_t)(s - c->sites);
				}
				fold(o, ds);
			}
			if (bare && !s->bare) {
				s->bare = true;
				c->bare_sites++;
			}
			if (!user && !s->no_user_frame) {
				s->no_user_frame = true;
				c->impl_sites++;
			}
			fold(s, ds);
			add_live(s, (uint32_t)(s - c->sites), d, (uint32_t)i, ds, &scratch, ps, at,
				 &runs, &nruns, &cap_runs);
		}
	}
	settle_live(c, runs, nruns);
	free(runs);
	mark_shared_lines(c);
	uint64_t all_bytes = c->tracked_bytes;
	/* Nor can the sites' bytes together (derive() tells one site's): the API maps' arrays,
	 * which the program declares, are then taken as not malloc's (three sites of arrays from
	 * mmap, each under the total, read 171% of it together; black-box QA). */
	uint64_t heap_sum = 0;
	for (size_t i = 0; i < c->n; i++)
		heap_sum = mp_add_sat_u64(heap_sum, c->sites[i].heap_grow_bytes);
	for (size_t i = 0; heap_sum > all_bytes && i < c->n + cl.by.n; i++) {
		mp_churn_site_t *s = i < c->n ? &c->sites[i] : &cl.by.sites[i - c->n];
		if (s->kind == MP_KIND_API)
			s->heap_grow_bytes = 0;
	}
	for (size_t i = 0; i < cl.by.n; i++)
		derive(&cl.by.sites[i], c, all_bytes);
	for (size_t i = 0; i < c->n; i++) {
		mp_churn_site_t *s = &c->sites[i];
		derive(s, c, all_bytes);
		c->maps += s->instances;
		c->grows += s->grows;
		c->grow_bytes = mp_add_sat_u64(c->grow_bytes, s->grow_bytes);
		c->heap_grow_bytes = mp_add_sat_u64(c->heap_grow_bytes, s->heap_grow_bytes);
		c->grow_ns = mp_add_sat_u64(c->grow_ns, s->grow_ns);
	}
	cl.first = mp_xmalloc((c->n + 1) * sizeof(uint32_t));
	cl.next = mp_xmalloc((cl.by.n + 1) * sizeof(uint32_t));
	memset(cl.first, 0xff, (c->n + 1) * sizeof(uint32_t));
	for (size_t i = cl.by.n; i-- > 0;) { /* their verdicts are read by their sites' */
		judge(&cl.by.sites[i], c, NULL, 0);
		cl.next[i] = cl.first[cl.parent[i]];
		cl.first[cl.parent[i]] = (uint32_t)i;
	}
	for (size_t i = 0; i < c->n; i++) /* after every site's figures: judge compares sites */
		judge(&c->sites[i], c, &cl, (uint32_t)i);
	mp_churn_free(&cl.by);
	free(cl.parent);
	free(cl.first);
	free(cl.next);
	mp_htab_free(&cl_index);
	if (c->n)
		qsort(c->sites, c->n, sizeof(*c->sites), worse);
	mp_htab_free(&index);
	mp_stacks_free(&st);
	mp_profile_free(&scratch);
}

void mp_churn_free(mp_churn_t *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->sites[i].function);
		free(c->sites[i].file);
		free(c->sites[i].container);
		free(c->sites[i].verdicts);
	}
	free(c->sites);
	for (size_t i = 0; i < c->nstats; i++)
		free(c->stat_keys[i]);
	free(c->stat_keys);
	free(c->stat_values);
	memset(c, 0, sizeof(*c));
}

const char *mp_verdict_name(enum mp_verdict_id id)
{
	static const char *const names[MP_V_COUNT] = {"presize", "reuse",     "tiny",	 "shared",
						      "hash",	 "oversized", "dominant"};
	return id < MP_V_COUNT ? names[id] : "?";
}
