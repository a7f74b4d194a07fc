/* SPDX-License-Identifier: MIT */
/* The mapprof demo: a small "request-serving service" with the hash-map misuses mapprof finds.
 * Built twice: plain (the wasteful service) and with -DDEMO_FIXED (its fixed twin, the same
 * work with each fix applied). Both print the same checksum, so the fix changes nothing else.
 *
 *   misuse                                      fix in the twin
 *   per request, an array of uthash maps that   one set of maps kept across requests, items
 *     are built from empty every time             from a pool: no regrowth, no per-item malloc
 *   a dedup map made and dropped in a loop      one map cleared and reused
 *   many tiny maps (<= 4 entries)               a small flat array
 *   a cache that grows without bound            a bounded cache (evicts the oldest)
 *
 * Usage: service [requests]   (default 1500) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uthash.h"

#define FIELDS_PER_REQUEST 8	/* maps per request */
#define ITEMS_PER_FIELD	   1000 /* entries per map: several uthash expansions from 32 buckets */
#define DEDUP_ROUNDS	   6	/* dedup maps per request */
#define DEDUP_ITEMS	   96
#define TINY_PER_REQUEST   40	/* tiny maps per request */
#define CACHE_PAYLOAD	   4096 /* bytes per cached response */
#define CACHE_LIMIT	   64	/* the fixed twin's bound */

struct item {
	int key;
	int value;
	UT_hash_handle hh;
};

struct cached {
	int id;
	char payload[CACHE_PAYLOAD];
	UT_hash_handle hh;
};

static uint64_t checksum;

static unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* ---- misuse 1: an array of maps per request ---------------------------------------------- */
#ifndef DEMO_FIXED
static void parse_fields(int req, unsigned *seed)
{
	struct item *fields[FIELDS_PER_REQUEST] = {0};
	for (int f = 0; f < FIELDS_PER_REQUEST; f++) {
		for (int i = 0; i < ITEMS_PER_FIELD; i++) {
			struct item *it = malloc(sizeof(*it));
			it->key = i * 7 + f;
			it->value = (int)(next_rand(seed) % 1000);
			HASH_ADD_INT(fields[f], key, it);
		}
	}
	for (int f = 0; f < FIELDS_PER_REQUEST; f++) {
		struct item *it, *tmp;
		int probe = (req + f) % ITEMS_PER_FIELD * 7 + f;
		HASH_FIND_INT(fields[f], &probe, it);
		checksum += it ? (uint64_t)it->value : 0;
		HASH_ITER(hh, fields[f], it, tmp)
		{
			HASH_DEL(fields[f], it);
			free(it);
		}
	}
}
#else
/* The fix: the maps and their items live across requests; a request overwrites values. */
static struct item *field_maps[FIELDS_PER_REQUEST];
static struct item field_pool[FIELDS_PER_REQUEST][ITEMS_PER_FIELD];
static void parse_fields(int req, unsigned *seed)
{
	for (int f = 0; f < FIELDS_PER_REQUEST; f++) {
		for (int i = 0; i < ITEMS_PER_FIELD; i++) {
			struct item *it = &field_pool[f][i];
			int key = i * 7 + f;
			int value = (int)(next_rand(seed) % 1000);
			if (!field_maps[f] || it->key != key) {
				it->key = key;
				HASH_ADD_INT(field_maps[f], key, it);
			}
			it->value = value;
		}
	}
	for (int f = 0; f < FIELDS_PER_REQUEST; f++) {
		struct item *it;
		int probe = (req + f) % ITEMS_PER_FIELD * 7 + f;
		HASH_FIND_INT(field_maps[f], &probe, it);
		checksum += it ? (uint64_t)it->value : 0;
	}
}
#endif

/* ---- misuse 2: a map made and dropped in a loop ------------------------------------------- */
#ifndef DEMO_FIXED
static void dedup(unsigned *seed)
{
	for (int r = 0; r < DEDUP_ROUNDS; r++) {
		struct item *seen = NULL;
		int unique = 0;
		for (int i = 0; i < DEDUP_ITEMS; i++) {
			int k = (int)(next_rand(seed) % 200);
			struct item *it;
			HASH_FIND_INT(seen, &k, it);
			if (!it) {
				it = malloc(sizeof(*it));
				it->key = k;
				HASH_ADD_INT(seen, key, it);
				unique++;
			}
		}
		checksum += (uint64_t)unique;
		struct item *it, *tmp;
		HASH_ITER(hh, seen, it, tmp)
		{
			HASH_DEL(seen, it);
			free(it);
		}
	}
}
#else
/* The fix: a generation-stamped array replaces the map (keys are small integers); had they
 * not been, one map cleared between rounds would do. */
static unsigned dedup_stamp[200], dedup_gen;
static void dedup(unsigned *seed)
{
	for (int r = 0; r < DEDUP_ROUNDS; r++) {
		int unique = 0;
		dedup_gen++;
		for (int i = 0; i < DEDUP_ITEMS; i++) {
			int k = (int)(next_rand(seed) % 200);
			if (dedup_stamp[k] != dedup_gen) {
				dedup_stamp[k] = dedup_gen;
				unique++;
			}
		}
		checksum += (uint64_t)unique;
	}
}
#endif

/* ---- misuse 3: many tiny maps -------------------------------------------------------------- */
#ifndef DEMO_FIXED
static void headers(unsigned *seed)
{
	for (int t = 0; t < TINY_PER_REQUEST; t++) {
		struct item *h = NULL;
		int n = 1 + (int)(next_rand(seed) % 4);
		for (int i = 0; i < n; i++) {
			struct item *it = malloc(sizeof(*it));
			it->key = i;
			it->value = t + i;
			HASH_ADD_INT(h, key, it);
		}
		struct item *it, *tmp;
		int k = n - 1;
		HASH_FIND_INT(h, &k, it);
		checksum += it ? (uint64_t)it->value : 0;
		HASH_ITER(hh, h, it, tmp)
		{
			HASH_DEL(h, it);
			free(it);
		}
	}
}
#else
/* The fix: at most 4 entries fit a small array on the stack; a linear scan beats hashing. */
static void headers(unsigned *seed)
{
	for (int t = 0; t < TINY_PER_REQUEST; t++) {
		struct {
			int key, value;
		} h[4];
		int n = 1 + (int)(next_rand(seed) % 4);
		for (int i = 0; i < n; i++) {
			h[i].key = i;
			h[i].value = t + i;
		}
		for (int i = 0; i < n; i++)
			if (h[i].key == n - 1)
				checksum += (uint64_t)h[i].value;
	}
}
#endif

/* ---- misuse 4: a cache that grows without bound ------------------------------------------ */
static struct cached *cache;
#ifdef DEMO_FIXED
static struct cached *cache_ring[CACHE_LIMIT];
static unsigned cache_next;
#endif

static void respond(int req)
{
	/* Requests repeat with period 64: only the last few are ever looked up again. */
	int id = req;
	int again = req - 64;
	struct cached *c;
	HASH_FIND_INT(cache, &again, c);
	checksum += c ? (uint64_t)(unsigned char)c->payload[0] : 1;
#ifdef DEMO_FIXED
	struct cached *old = cache_ring[cache_next];
	if (old) {
		HASH_DEL(cache, old);
		c = old; /* the evicted entry's memory is reused */
	} else {
		c = malloc(sizeof(*c));
	}
	cache_ring[cache_next] = c;
	cache_next = (cache_next + 1) % CACHE_LIMIT;
#else
	c = malloc(sizeof(*c));
#endif
	c->id = id;
	memset(c->payload, 'a' + id % 26, sizeof(c->payload));
	HASH_ADD_INT(cache, id, c);
}

int main(int argc, char **argv)
{
	int requests = argc > 1 ? atoi(argv[1]) : 1500;
	unsigned seed = 12345;
	for (int req = 0; req < requests; req++) {
		parse_fields(req, &seed);
		dedup(&seed);
		headers(&seed);
		respond(req);
	}
	printf("served %d requests, checksum %llu\n", requests, (unsigned long long)checksum);
	return 0;
}
