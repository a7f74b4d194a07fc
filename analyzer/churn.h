/* SPDX-License-Identifier: MIT */
/* The map churn model behind --maps: MAP_SITES of every process, folded per call site (the
 * first frame outside the map implementation and the shim), with percentiles and verdicts.
 * Building and judging is churn.c; the text and JSON writers are report_maps.c. */
#ifndef MP_CHURN_H
#define MP_CHURN_H

#include <stdint.h>
#include <stdio.h>

#include "inputs.h"
#include "symbolize.h"

/* Verdict thresholds (documented in README.md, "Verdicts"). */
#define MP_PRESIZE_MIN_INSTANCES 10	  /* a pattern needs instances: not a few long-lived maps */
#define MP_PRESIZE_MIN_GROWS	 2.0	  /* mean grows per instance: "several grows each" */
#define MP_PRESIZE_MAX_SPREAD	 4	  /* p90 final size at most 4x p50: "a similar size" */
#define MP_REUSE_MIN_INSTANCES	 100	  /* "many" instances */
#define MP_REUSE_MIN_TURNOVER	 10	  /* instances per most-live-at-once: "one after another" */
#define MP_REUSE_MAX_LIFE_NS	 10000000 /* p90 lifetime at most 10 ms: "short-lived" */
#define MP_TINY_MIN_INSTANCES	 100	  /* "many" instances */
#define MP_TINY_MAX_ELEMENTS	 4	  /* the shim's definition of tiny (DUMP_FORMAT.md) */
#define MP_TINY_MIN_SHARE	 0.9	  /* of the instances never above 4 elements */
#define MP_SHARED_MIN_INSTANCES	 1	  /* one instance grown from two threads is enough */
#define MP_HASH_MIN_INSTANCES	 1	  /* one table that stopped expanding is enough */
#define MP_OVERSIZED_MIN_BUCKETS 1024 /* a reserve of fewer buckets costs too little to matter */
#define MP_OVERSIZED_FACTOR	 8    /* buckets reserved per element held at most */
#define MP_DOMINANT_BYTES_SHARE	 0.20 /* grow bytes / all bytes allocated */
#define MP_DOMINANT_TIME_SHARE	 0.05 /* grow time / time measured */
/* grows beyond the reserves (and first arrays) / instances: one map in thousands that outgrew
 * its reserve does not make the others' reserved arrays growth */
#define MP_DOMINANT_MIN_GROWTH 0.05
/* presize for uthash: the suggested HASH_INITIAL_NUM_BUCKETS leaves at most this share of the
 * tables of p90's size expanding. uthash expands as soon as one chain reaches
 * HASH_BKT_CAPACITY_THRESH (10) items, not when the mean does, and the longest of more chains is
 * longer: 2 items per bucket hold 1000 items (2% expand), but left 20% of 8192-item tables
 * expanding in 4096 buckets (measured; chain lengths are Poisson, churn.c). */
#define MP_UTHASH_EXPAND_SHARE 0.05
#define MP_UTHASH_CHAIN_THRESH 10

enum mp_verdict_id {
	MP_V_PRESIZE,
	MP_V_REUSE,
	MP_V_TINY,
	MP_V_SHARED,
	MP_V_HASH,
	MP_V_OVERSIZED,
	MP_V_DOMINANT,
	MP_V_COUNT
};

typedef struct {
	enum mp_verdict_id id;
	char evidence[320];
	char suggestion[640];
} mp_verdict_t;

typedef struct {
	uint32_t kind;
	char *function, *file; /* owned; file "" when unknown */
	/* owned: an unordered_map site's container type as demangled ("std::unordered_map<K, V,
	 * hash, ...>"), "" when unknown or another kind: two maps made on one line are two sites */
	char *container;
	bool shares_line; /* another site has its kind, function, file and line */
	int64_t line;
	uint16_t flags;
	uint64_t instances, live, max_live, grows, max_grows, reserved, tiny, shared, max_threads,
	    noexpand, grow_bytes, grow_ns, max_grow_ns, max_size;
	uint64_t size_hist[MP_HIST_SIZE_BUCKETS];
	uint64_t life_hist[MP_HIST_LIFE_BUCKETS];
	/* grow_bytes of arrays allocated through malloc or operator new (dump 1.2): the share of
	 * all bytes allocated is of these; the rest came from an allocator that does not call
	 * malloc (a std::pmr resource on a buffer) */
	uint64_t heap_grow_bytes;
	/* Instances whose growers took turns (dump 1.3; before, those grown from 2+ threads): the
	 * shared verdict's evidence; a map handed from thread to thread is not among them. */
	uint64_t turns;
	/* The most alive at once in one process (max_live sums processes: an upper bound); what
	 * the reuse suggestion goes by. */
	uint64_t max_live_proc;
	/* unordered_map instances whose bucket array came from another map (a copy, a
	 * copy-assignment over it): first seen growing from more than one bucket (dump 1.7). */
	uint64_t copies;
	/* unordered_map instances that grew by inserts at a lower max_load_factor than their last
	 * reserve() ran at (dump 1.7). */
	uint64_t lf_lowered;
	/* Instances that called reserve()/rehash() after their first grow, and the sum of their
	 * largest such bucket counts (dump 1.8). */
	uint64_t late_reserved, late_buckets;
	/* unordered_map instances moved out of the map they grew in (or swapped away, or
	 * replaced there by an assignment), which restarts from one bucket (dump 1.9). */
	uint64_t moved_out;
	/* Derived. Percentiles are the upper bounds of their log2 histogram buckets. */
	uint64_t size_p50, size_p90, life_p50, life_p90;
	double grow_bytes_share, grow_time_share;
	mp_verdict_t *verdicts; /* owned, MP_V_COUNT of them once the first is given */
	int nverdicts;
	/* In code without symbols: named by its frame's and its callers' addresses (churn.c) */
	bool bare;
	/* No frame of its stack is outside the map's code and mapprof's: named by the innermost */
	bool no_user_frame;
} mp_churn_site_t;

typedef struct {
	mp_churn_site_t *sites; /* worst first */
	size_t n, cap;
	uint64_t maps, grows, grow_bytes, heap_grow_bytes, grow_ns, duration_ns;
	/* What grow time is a share of: per process, the lifetimes of its threads that grew maps
	 * (dump 1.3), at least its duration; summed over processes. */
	uint64_t thread_ns;
	/* What grow bytes are a share of: the bytes allocated by the processes with map tracking
	 * on (one run with it off would dilute the share, and the dominant verdict's threshold) */
	uint64_t tracked_bytes;
	size_t processes, with_maps; /* processes, and those that had map tracking on */
	size_t bare_sites;	     /* sites in code without symbols (mp_churn_site_t.bare) */
	size_t impl_sites;	     /* sites with no user frame (mp_churn_site_t.no_user_frame) */
	/* The allocator's own figures, summed over the stat_processes that have them (a dump
	 * may leave them out), in first-seen key order. */
	size_t stat_processes;
	char **stat_keys;
	uint64_t *stat_values;
	size_t nstats, cap_stats;
} mp_churn_t;

/* Builds the model: folds sites, computes percentiles and shares, judges. */
void mp_churn_build(mp_churn_t *c, const mp_inputs_t *in, mp_symbolizer_t *sym);
void mp_churn_free(mp_churn_t *c);
const char *mp_verdict_name(enum mp_verdict_id id);

/* report_maps.c */
int mp_report_maps(FILE *f, const mp_churn_t *c, const mp_inputs_t *in);
int mp_report_maps_json(FILE *f, const mp_churn_t *c, const mp_inputs_t *in);

/* Whether a demangled (or C) function name is a map implementation's or mapprof's own code: its
 * own qualified name, without return type, parameters or qualifiers, is in std::_Hashtable,
 * std::__detail, std::unordered_*, mapprof_* or operator new. */
bool mp_churn_impl_name(const char *fn);
/* type as the user would write it: defaulted template arguments left out, std::string so
 * named ("std::unordered_map<std::string, std::unordered_set<int>>"); into out, n bytes. */
void mp_churn_short_type(const char *type, char *out, size_t n);

#endif
