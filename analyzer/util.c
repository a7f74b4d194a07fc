// SPDX-License-Identifier: MIT
/* Checked allocation and hashing shared by the analyzer modules (see util.h). */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
	fprintf(stderr, "mapprof-report: out of memory (asked for %zu bytes)\n", n);
	exit(MP_EIO);
}

void *mp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *mp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *mp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *mp_xstrdup(const char *s)
{
	return mp_xstrndup(s, strlen(s));
}

char *mp_xstrndup(const char *s, size_t n)
{
	char *p = mp_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void mp_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / elem)
		oom(SIZE_MAX);
	*arr = mp_xrealloc(*arr, c * elem);
	*cap = c;
}

uint64_t mp_hash_u64(uint64_t x)
{
	/* splitmix64's finaliser: cheap and mixes every input bit into every output bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint64_t mp_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return mp_hash_u64(h);
}

uint32_t mp_htab_find(const mp_htab_t *t, uint64_t h, mp_htab_eq_fn eq, const void *ctx)
{
	if (!t->cap)
		return MP_HTAB_NONE;
	size_t mask = t->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slot[i];
		if (!s)
			return MP_HTAB_NONE;
		if (t->hash[i] == h && eq(ctx, s - 1))
			return s - 1;
	}
}

static void place(uint32_t *slot, uint64_t *hash, size_t mask, uint64_t h, uint32_t s)
{
	size_t i = h & mask;
	while (slot[i])
		i = (i + 1) & mask;
	slot[i] = s;
	hash[i] = h;
}

void mp_htab_insert(mp_htab_t *t, uint64_t h, uint32_t idx)
{
	if ((t->n + 1) * 4 > t->cap * 3) { /* keep the load under 3/4 */
		size_t cap = t->cap ? t->cap * 2 : 64;
		uint32_t *slot = mp_xcalloc(cap, sizeof(*slot));
		uint64_t *hash = mp_xmalloc(cap * sizeof(*hash));
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i])
				place(slot, hash, cap - 1, t->hash[i], t->slot[i]);
		free(t->slot);
		free(t->hash);
		t->slot = slot;
		t->hash = hash;
		t->cap = cap;
	}
	place(t->slot, t->hash, t->cap - 1, h, idx + 1);
	t->n++;
}

void mp_htab_free(mp_htab_t *t)
{
	free(t->slot);
	free(t->hash);
	t->slot = NULL;
	t->hash = NULL;
	t->cap = t->n = 0;
}

size_t mp_utf8_len(const unsigned char *p)
{
	/* RFC 3629's table: the second byte's range depends on the first (no overlong forms,
	 * no surrogates, nothing past U+10FFFF); the others are 80..BF. */
	unsigned lo = 0x80, hi = 0xbf;
	size_t n;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

char *mp_utf8_fixed(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bad = 0, len = 0, n;
	for (; u[len]; len += n) {
		n = u[len] < 0x80 ? 1 : mp_utf8_len(u + len);
		if (!n) {
			bad++;
			n = 1;
		}
	}
	if (!bad)
		return NULL;
	char *out = mp_xmalloc(len + 2 * bad + 1), *o = out;
	for (size_t i = 0; i < len; i += n) {
		n = u[i] < 0x80 ? 1 : mp_utf8_len(u + i);
		if (n) {
			memcpy(o, s + i, n);
			o += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		}
	}
	*o = 0;
	return out;
}
