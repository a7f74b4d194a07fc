/* SPDX-License-Identifier: MIT */
/* The hottest entry points: malloc, free and the plain C++ operators. Each is the fast path of
 * hot.h before a tail call to the real function (around the call for operator new, which must
 * see a failure), and a tail call to its slow path (interpose.c, cxx.c) for everything else. Built
 * without frame pointers (Makefile): these functions never call into the shim except by a tail
 * call, so the slow path's frame record points straight at the program's call site and the
 * frame-pointer walk (MAPPROF_UNWIND=fp) loses nothing. */
#include "hot.h"
#include "slow.h"

/* A tail call either way: the fast path keeps no frame. It hands the call to the real malloc
 * unchecked while allocations do not fail, or to mp_malloc_checked once they may (fallible.c
 * says when). */
MP_EXPORT void *malloc(size_t size)
{
	mp_tls_t *t = &mp_tls;
	if (mp_likely(mp_fast_alloc(t, size)))
		return mp_malloc_next(size);
	return mp_malloc_slow(size);
}

MP_EXPORT void free(void *p)
{
	mp_tls_t *t = &mp_tls;
	if (mp_likely(mp_fast_free(t, p))) {
		mp_real.free(p);
		return;
	}
	mp_free_slow(p);
}

/* libstdc++'s plain operator new is malloc plus, on failure, the new-handler loop and the
 * throw: when it is the next one (mp_cxx_direct), the fast path calls malloc itself and leaves
 * a failure to the real operator, in the slow path. */
static inline void *new_fast(size_t n)
{
	mp_tls_t *t = &mp_tls;
	if (mp_likely(mp_cxx_direct) && mp_likely(mp_fast_alloc(t, n))) {
		void *p = mp_real.malloc(n ? n : 1);
		if (mp_likely(p != NULL))
			return p;
		mp_fast_alloc_undo(n); /* the real operator's new-handler loop may still succeed */
	}
	return mp_cxx_new_slow(n);
}

/* Every plain delete form is free() in libstdc++ (sizes are hints). */
static inline void delete_fast(void *p)
{
	mp_tls_t *t = &mp_tls;
	if (mp_likely(mp_cxx_direct) && mp_likely(mp_fast_free(t, p))) {
		mp_real.free(p);
		return;
	}
	mp_cxx_delete_slow(p);
}

MP_EXPORT void *_Znwm(size_t n)
{
	return new_fast(n);
}
MP_EXPORT void *_Znam(size_t n)
{
	return new_fast(n);
}
MP_EXPORT void _ZdlPv(void *p)
{
	delete_fast(p);
}
MP_EXPORT void _ZdaPv(void *p)
{
	delete_fast(p);
}
MP_EXPORT void _ZdlPvm(void *p, size_t n)
{
	(void)n;
	delete_fast(p);
}
MP_EXPORT void _ZdaPvm(void *p, size_t n)
{
	(void)n;
	delete_fast(p);
}
