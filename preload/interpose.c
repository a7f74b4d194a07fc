/* SPDX-License-Identifier: MIT */
/* The malloc family but malloc and free (fast.c), and those two's slow paths. Each checks the
 * state first, forwards to the real allocator and accounts for the call through hot.h's
 * helpers; anything else (first call, bootstrap, sample points, tracked frees) is in the
 * record.c slow paths. */
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "mp.h"
#include "hot.h"
#include "slow.h"
#include "thread.h"

/* Runs until the state is READY or FORWARD; returns true if the caller may profile. */
static bool settle(void)
{
	if (mp_state == MP_UNINIT)
		mp_init();
	return mp_state == MP_READY;
}

static void *cold_memalign(size_t align, size_t size)
{
	settle();
	if (mp_state == MP_BOOTSTRAP)
		return mp_bootstrap_alloc(size, align);
	return NULL; /* caller retries on the real path */
}

/* malloc's slow path (fast.c): first calls, bootstrap, guard, sample points. */
void *mp_malloc_slow(size_t size)
{
	if (mp_unlikely(mp_state != MP_READY)) {
		if (!settle())
			return mp_state == MP_BOOTSTRAP ? mp_bootstrap_alloc(size, 16)
							: mp_real.malloc(size);
	}
	if (mp_unlikely(mp_tls.map_pending)) /* tail-called by malloc: its caller's stack */
		mp_tls.map_call_sp = (uintptr_t)__builtin_dwarf_cfa();
	void *p = mp_real.malloc(size);
	if (mp_likely(p != NULL))
		mp_record_alloc(&mp_tls, p, size);
	else
		mp_alloc_failed(size);
	return p;
}

/* free's slow path (fast.c): NULL, bootstrap blocks, guard, first calls, tracked pointers. */
void mp_free_slow(void *p)
{
	if (p == NULL || mp_unlikely(mp_bootstrap_owns(p)))
		return;
	if (mp_unlikely(mp_state != MP_READY)) {
		if (!settle()) {
			if (mp_state != MP_BOOTSTRAP)
				mp_real.free(p);
			return;
		}
	}
	mp_tls_t *t = &mp_tls;
	if (mp_likely(t->guard == 0))
		mp_note_free(t, p);
	mp_real.free(p);
}

MP_EXPORT void *calloc(size_t n, size_t size)
{
	if (mp_unlikely(mp_state != MP_READY)) {
		if (!settle()) {
			if (mp_state != MP_BOOTSTRAP)
				return mp_real.calloc(n, size);
			if (size && n > SIZE_MAX / size)
				return NULL;
			return mp_bootstrap_alloc(n * size, 16); /* static area: zeroed */
		}
	}
	void *p = mp_real.calloc(n, size);
	if (mp_likely(p != NULL))
		mp_note_alloc(&mp_tls, p, n * size); /* no overflow: calloc succeeded */
	else if (!size || n <= PTRDIFF_MAX / size)
		mp_alloc_failed(n * size);
	return p;
}

/* realloc out of the bootstrap area: the block moves to the real heap (or a new static one). */
static void *realloc_bootstrap(void *p, size_t size)
{
	void *q = malloc(size);
	if (q) {
		size_t old = mp_bootstrap_size(p);
		memcpy(q, p, old < size ? old : size);
	}
	return q;
}

/* realloc is a free plus an allocation: a tracked block is forgotten before the real realloc
 * (after it, its address may belong to another thread), and the new block may be sampled. */
MP_EXPORT void *realloc(void *p, size_t size)
{
	if (p == NULL)
		return malloc(size);
	if (mp_unlikely(mp_bootstrap_owns(p)))
		return realloc_bootstrap(p, size);
	if (mp_unlikely(mp_state != MP_READY) && !settle())
		return mp_real.realloc(p, size);
	mp_tls_t *t = &mp_tls;
	if (mp_unlikely(t->guard))
		return mp_real.realloc(p, size);
	/* The free is counted before the sample is taken, as free() does: a snapshot meanwhile
	 * must not see more sampled frees than frees counted. */
	bool counted = mp_count_free_undoable(t);
	uint32_t taken = UINT32_MAX;
	uint64_t taken_size = 0;
	if (mp_unlikely(mp_filter_maybe(p)))
		taken = mp_record_take(t, p, &taken_size);
	if (mp_unlikely(t->map_pending)) /* its data stays: not a map's new bucket array */
		t->map_call_sp = MP_MAP_CALL_REALLOC;
	void *q = mp_real.realloc(p, size);
	if (q == NULL && t->map_call_sp == MP_MAP_CALL_REALLOC)
		t->map_call_sp = 0; /* no allocation came to take the mark */
	if (q == NULL && size != 0) {
		/* Failed: p is intact and still ours to describe, and was not freed. */
		if (taken != UINT32_MAX)
			mp_record_realloc_undo(t, p, taken, taken_size);
		mp_uncount_free(t, counted);
		mp_alloc_failed(size);
		return NULL;
	}
	if (q)
		mp_note_alloc(t, q, size);
	return q;
}

MP_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * size);
}

/* After a real call of the aligned family: p counted as `size` bytes, or its failure. */
static void *noted(void *p, size_t size)
{
	mp_tls_t *t = &mp_tls;
	if (p && mp_state == MP_READY && t->guard == 0)
		mp_note_alloc(t, p, size);
	else if (!p && errno == ENOMEM)
		mp_alloc_failed(size);
	return p;
}

/* The aligned family. The real functions may be missing or belong to another allocator than
 * malloc (init.c then leaves them NULL): everything funnels into posix_memalign there. */
static void *aligned(size_t align, size_t size, void *(*real)(size_t, size_t))
{
	if (mp_unlikely(mp_state != MP_READY) && !settle()) {
		if (mp_state == MP_BOOTSTRAP)
			return cold_memalign(align, size);
	}
	void *p = NULL;
	if (real) {
		p = real(align, size);
	} else {
		if (align < sizeof(void *))
			align = sizeof(void *);
		while (align & (align - 1))
			align += align & -align; /* round up to a power of two, as memalign does */
		int rc = mp_real.posix_memalign(&p, align, size);
		if (rc) {
			errno = rc;
			p = NULL;
		}
	}
	return noted(p, size);
}

MP_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (mp_unlikely(mp_state != MP_READY) && !settle() && mp_state == MP_BOOTSTRAP) {
		*out = mp_bootstrap_alloc(size, align);
		return *out ? 0 : ENOMEM;
	}
	void *p = NULL;
	int rc = mp_real.posix_memalign(&p, align, size);
	if (rc != 0) {
		if (rc == ENOMEM)
			mp_alloc_failed(size);
		return rc;
	}
	*out = p;
	mp_tls_t *t = &mp_tls;
	if (mp_state == MP_READY && t->guard == 0)
		mp_note_alloc(t, p, size);
	return 0;
}

MP_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return aligned(align, size, mp_real.aligned_alloc);
}

MP_EXPORT void *memalign(size_t align, size_t size)
{
	return aligned(align, size, mp_real.memalign);
}

/* valloc and pvalloc: the allocator's own where it has them, so that the program gets what it
 * would without us (glibc's pvalloc(0) is its smallest block, not a page; jemalloc's valloc(0)
 * and its errors differ too), also while profiling is off; counted as `counted` bytes. Else
 * posix_memalign of `fallback` bytes. */
static void *page_alloc(size_t size, size_t counted, size_t fallback, bool pv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (mp_unlikely(mp_state != MP_READY))
		settle(); /* resolves the real functions */
	if (mp_state == MP_BOOTSTRAP)
		return mp_bootstrap_alloc(fallback, page);
	void *(*real)(size_t) = pv ? mp_real.pvalloc : mp_real.valloc;
	void *p = NULL;
	if (real) {
		p = real(size);
	} else {
		int rc = mp_real.posix_memalign(&p, page, fallback);
		if (rc) {
			errno = rc;
			p = NULL;
		}
	}
	return noted(p, counted);
}

MP_EXPORT void *valloc(size_t size)
{
	return page_alloc(size, size, size, false);
}

/* Counted at the size rounded up to whole pages, what pvalloc allocates (DUMP_FORMAT.md); 0
 * for 0, whatever the allocator gives then. */
MP_EXPORT void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t rounded = (size + page - 1) & ~(page - 1);
	if (rounded < size) /* no whole pages hold it: the allocator's own says what then */
		return page_alloc(size, size, SIZE_MAX, true);
	/* posix_memalign's way: a page for 0, as glibc's pvalloc once gave */
	return page_alloc(size, rounded, rounded ? rounded : page, true);
}

MP_EXPORT size_t malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	if (mp_bootstrap_owns(p))
		return mp_bootstrap_size(p);
	if (mp_state == MP_UNINIT)
		settle();
	return mp_real.malloc_usable_size ? mp_real.malloc_usable_size(p) : 0;
}
