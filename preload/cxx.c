/* SPDX-License-Identifier: MIT */
/* C++ operator new and delete, counted and sampled here like the malloc family, with the guard
 * held around the real operator so that the malloc/free inside libstdc++'s operators is not
 * counted again. jemalloc and tcmalloc export operators that never reach malloc at all, and
 * counting here also gives the same stacks whatever the allocator: the leaf is the caller of
 * new, not libstdc++'s operator. Built with -fexceptions: a throwing operator new unwinds
 * through these frames, and the guard is released by a cleanup on the way. */
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include "hot.h"
#include "maps.h"
#include "slow.h"
#include "stack.h"

enum { UNRESOLVED, FORWARD, COUNT };
/* libstdc++'s plain operators are malloc/free plus, on failure, the new-handler loop and the
 * throw. When they are the next ones, the plain forms call the allocator directly (one call
 * instead of three) and leave only a failed allocation to the real operator. Written once by
 * resolve(). */
static bool direct;
bool mp_cxx_direct; /* direct and COUNT: fast.c's operators may run */
/* Written once by resolve() (racing threads write the same values); read-only afterwards. */
static int mode;
static void *(*real_new)(size_t);
static void *(*real_new_nt)(size_t, const void *);
static void *(*real_new_al)(size_t, size_t);
static void *(*real_new_al_nt)(size_t, size_t, const void *);
static void (*real_del)(void *);
static void (*real_del_al)(void *, size_t);
typedef void (*new_handler_t)(void);
static new_handler_t (*real_get_handler)(void);
static new_handler_t (*real_set_handler)(new_handler_t);
static uintptr_t op_lo, op_hi; /* the code of the allocator's operator new */

/* The C++ runtimes a library loaded RTLD_LOCAL may have brought (a C program's plugin, a
 * Python extension): not in the global scope, so not found by RTLD_NEXT. */
static const char *const runtimes[] = {"libstdc++.so.6", "libc++.so.1"};

void *mp_cxx_lookup(const char *name, const void *self_fn)
{
	void *f = dlsym(RTLD_NEXT, name);
	for (size_t i = 0; (!f || f == self_fn) && i < sizeof(runtimes) / sizeof(*runtimes); i++) {
		void *h = dlopen(runtimes[i], RTLD_NOW | RTLD_NOLOAD);
		f = h ? dlsym(h, name) : NULL;
		if (h)
			dlclose(h);
	}
	return f == self_fn ? NULL : f;
}

/* Ours, defined below and in fast.c: the lookup must not find them again. */
MP_EXPORT void *_Znwm(size_t n);
MP_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt);
MP_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al);
MP_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt);
MP_EXPORT void _ZdlPv(void *p);
MP_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al);
MP_EXPORT new_handler_t _ZSt15get_new_handlerv(void);
MP_EXPORT new_handler_t _ZSt15set_new_handlerPFvvE(new_handler_t h);
#define LOOKUP(name) mp_cxx_lookup(#name, (const void *)name)

/* Set once by init (mp_cxx_others_first), before profiling starts. */
static bool others;

void mp_cxx_others_first(void)
{
	others = true;
	if (__atomic_load_n(&mode, __ATOMIC_ACQUIRE) != UNRESOLVED) {
		__atomic_store_n(&mp_cxx_direct, false, __ATOMIC_RELEASE);
		__atomic_store_n(&mode, FORWARD, __ATOMIC_RELEASE);
	}
}

static void resolve(void)
{
	mp_tls.guard++; /* dlsym's and dlopen's allocations (dlerror's string) are not the program's
			 */
	real_new = LOOKUP(_Znwm);
	real_new_nt = LOOKUP(_ZnwmRKSt9nothrow_t);
	real_new_al = LOOKUP(_ZnwmSt11align_val_t);
	real_new_al_nt = LOOKUP(_ZnwmSt11align_val_tRKSt9nothrow_t);
	real_del = LOOKUP(_ZdlPv);
	real_del_al = LOOKUP(_ZdlPvSt11align_val_t);
	real_get_handler = LOOKUP(_ZSt15get_new_handlerv);
	real_set_handler = LOOKUP(_ZSt15set_new_handlerPFvvE);
	mp_tls.guard--;
	if (real_new)
		mp_code_segment((uintptr_t)real_new, &op_lo, &op_hi);
	const struct link_map *lm =
	    real_new && real_del ? mp_loaded_object((void *)real_new) : NULL;
	direct = lm && lm->l_name && strstr(lm->l_name, "libstdc++") != NULL;
	/* Without a next operator (no libstdc++: nobody calls these) the fallbacks use malloc. */
	__atomic_store_n(&mode, real_new && real_del && !others ? COUNT : FORWARD,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&mp_cxx_direct, direct && mode == COUNT, __ATOMIC_RELEASE);
}

static inline bool counting(void)
{
	if (mp_unlikely(mode == UNRESOLVED))
		resolve();
	return mode == COUNT && mp_state == MP_READY && mp_tls.guard == 0;
}

static void release_guard(int *unused)
{
	(void)unused;
	mp_tls.guard--;
}

/* The allocator's operator, with our guard held so that nothing it does is counted twice. */
#define GUARDED(call)                                                                              \
	({                                                                                         \
		mp_tls.guard++;                                                                    \
		int held_ __attribute__((cleanup(release_guard))) = 0;                             \
		(void)held_;                                                                       \
		call;                                                                              \
	})

/* The program's new-handler is the program's code, but the allocator's operator new calls it
 * from inside GUARDED after a failed allocation: whatever it freed (a reserve released to let
 * the allocation succeed) or allocated would pass unrecorded. So while one of our GUARDED_NEW
 * calls runs, the handler the allocator reads back is run_handler, which drops the guard around
 * the program's handler. libstdc++'s operator new reads it with std::get_new_handler,
 * jemalloc's with a std::set_new_handler(nullptr) and a set back: both interposed below
 * (called through the PLT), and run_handler is never stored as the handler itself. new_level: the
 * guard depth of the innermost GUARDED_NEW (0: none); pending: the handler run_handler is to call.
 * Both the thread's own. */
static __thread uint32_t new_level __attribute__((tls_model("initial-exec")));
static __thread new_handler_t pending __attribute__((tls_model("initial-exec")));

/* A GUARDED_NEW call: the state its end restores, the size it asks for, and whether
 * give_up() let its guard go (each call its own: nested ones give up on their own). */
struct new_scope {
	uint32_t outer_level;
	struct new_scope *outer;
	size_t n;
	bool given_up;
};
/* The thread's innermost GUARDED_NEW (only read while new_level says one runs). */
static __thread struct new_scope *new_scope __attribute__((tls_model("initial-exec")));

/* Operator calls made with the guard already held (a signal handler's new while ours runs,
 * libstdc++'s nothrow new calling the throwing one): not the GUARDED_NEW call, whose "no
 * handler" they must not give up (a signal handler's gave up the call it interrupted, and
 * crashed where that one was ending). Their exception goes uncounted, with its free. */
static __thread uint32_t raw_depth __attribute__((tls_model("initial-exec")));

static void raw_leave(int *unused)
{
	(void)unused;
	raw_depth--;
}

#define RAW(call)                                                                                  \
	({                                                                                         \
		int raw_ __attribute__((cleanup(raw_leave))) = 0;                                  \
		(void)raw_;                                                                        \
		raw_depth++;                                                                       \
		call;                                                                              \
	})

/* Signal fences order the TLS writes against a signal handler on this thread: new_level says
 * a GUARDED_NEW runs only while new_scope is its own. */
static void leave_new(struct new_scope *s)
{
	new_level = s->outer_level;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	new_scope = s->outer;
	if (!s->given_up)
		mp_tls.guard--;
}

#define GUARDED_NEW(size, call)                                                                    \
	({                                                                                         \
		struct new_scope s_                                                                \
		    __attribute__((cleanup(leave_new))) = {new_level, new_scope, (size), false};   \
		new_scope = &s_;                                                                   \
		__atomic_signal_fence(__ATOMIC_SEQ_CST);                                           \
		new_level = ++mp_tls.guard;                                                        \
		call;                                                                              \
	})

static void new_failed(size_t n);

/* Guard down: the GUARDED_NEW call s failed for good. Its guard is not to be lowered again,
 * and the map grow that awaited its allocation does not happen: taken back now, before an
 * exception's allocation (the allocator's own, or one it throws after catching the
 * handler's: jemalloc) could be taken for the bucket array's end. */
static void scope_failed(struct new_scope *s)
{
	s->given_up = true;
	new_failed(s->n);
}

/* run_handler's way back: the guard up again when the program's handler returns. When it
 * throws, the allocator's operator gives up (it lets the exception through, or a nothrow one
 * catches it, frees it and returns NULL): the guard stays down, as give_up() leaves it, so
 * that the exception's free is counted like its allocation (a nothrow operator's catch freed
 * it uncounted). */
struct handler_return {
	uint32_t level;
	struct new_scope *scope;
	bool done;
};

static void reenter_new(struct handler_return *r)
{
	if (!r->done && r->scope) {
		scope_failed(r->scope);
		return;
	}
	mp_tls.guard++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	new_level = r->level;
}

/* A handler call left by an exception (a handler may throw: bad_alloc, or its own): the grow
 * that waited goes back to waiting, to be taken back by the failure it now is. */
struct handler_call {
	mp_maps_park_t park;
	size_t n; /* the failed size, to take the grow back here; 0: the caller does */
	bool done;
};
static void handler_unwound(struct handler_call *c)
{
	if (c->done)
		return;
	mp_maps_unpark(&mp_tls, &c->park);
	if (c->n)
		new_failed(c->n);
}

/* Calls the program's new-handler h with the guard down. A map grow waiting for the failed
 * allocation is set aside meanwhile: the handler's own allocations (its exception's object, a
 * log line) are not the bucket array. */
static void call_handler(new_handler_t h, size_t n)
{
	struct handler_call c __attribute__((cleanup(handler_unwound))) = {{0, 0}, n, false};
	mp_maps_park(&mp_tls, &c.park);
	h();
	c.done = true;
	mp_maps_unpark(&mp_tls, &c.park);
}

/* Runs the program's handler with the guard down; back up on return or throw (a handler may
 * throw bad_alloc itself). */
static void run_handler(void)
{
	new_handler_t h = pending;
	if (mp_unlikely(!h || new_level == 0 || new_level != mp_tls.guard)) {
		/* Not the call wrap() prepared (the pointer got out some other way): the program's
		 * handler, as it would have been. */
		h = real_get_handler ? real_get_handler() : NULL;
		if (h && h != run_handler)
			h();
		return;
	}
	struct handler_return r
	    __attribute__((cleanup(reenter_new))) = {new_level, new_scope, false};
	new_level = 0;
	mp_tls.guard--;
	call_handler(h, 0); /* a throw ends the GUARDED_NEW, whose cleanup takes the grow back */
	r.done = true;
}

/* The allocator's operator new inside GUARDED_NEW read no new-handler: it gives up now, and
 * throws bad_alloc (returns NULL for nothrow). Every allocator reads the handler only after a
 * failed allocation, and throws right after reading none (libstdc++, jemalloc, tcmalloc). The
 * exception object is the program's allocation, so the guard goes down now: inside the
 * operator, its malloc went uncounted while the program's catch freed it, counted (aligned
 * new, and every form over jemalloc or tcmalloc). */
static void give_up(void)
{
	new_level = 0;
	mp_tls.guard--;
	scope_failed(new_scope);
}

/* The handler an allocator inside GUARDED_NEW is to call: only the allocator's own code (the
 * object of its operator new) gets run_handler; anything else running on the thread meanwhile
 * (a signal handler) gets the program's handler. `reading`: h is the handler the allocator
 * reads (std::get_new_handler, or the first of jemalloc's and tcmalloc's
 * set_new_handler(nullptr) + set back pair), not the one a set back replaced (that one is
 * the nullptr the first call put there): none read means the allocator gives up. */
static new_handler_t wrap(new_handler_t h, uintptr_t caller, bool reading)
{
	if (new_level != 0 && new_level == mp_tls.guard && caller >= op_lo && caller < op_hi) {
		if (!h) {
			if (reading && raw_depth == 0 && new_scope)
				give_up();
			return h;
		}
		pending = h;
		return run_handler;
	}
	return h;
}

MP_EXPORT new_handler_t _ZSt15get_new_handlerv(void)
{
	if (mp_unlikely(mode == UNRESOLVED))
		resolve();
	return wrap(real_get_handler ? real_get_handler() : NULL,
		    (uintptr_t)__builtin_return_address(0), true);
}

MP_EXPORT new_handler_t _ZSt15set_new_handlerPFvvE(new_handler_t h)
{
	if (mp_unlikely(mode == UNRESOLVED))
		resolve();
	/* A set back puts back what the first call of the pair read: run_handler when a handler
	 * was installed (then the program's own goes back), nullptr when none was (the allocator
	 * gave up at the first call already). */
	bool reading = h == NULL;
	if (h == run_handler) /* an allocator putting back what it read: the program's own */
		h = pending;
	return wrap(real_set_handler ? real_set_handler(h) : NULL,
		    (uintptr_t)__builtin_return_address(0), reading);
}

/* The allocation a map grow awaits failed for good: the grow does not happen (maps.c). */
static void new_failed(size_t n)
{
	mp_tls_t *t = &mp_tls;
	if (t->map_pending && t->guard == 0 && mp_state == MP_READY)
		mp_maps_alloc_failed(t, n);
}

/* A GUARDED_NEW left by an exception: its allocation failed. */
struct new_try {
	size_t n;
	bool done;
};
static void new_unwound(struct new_try *nt)
{
	if (!nt->done)
		new_failed(nt->n);
}

/* std::__throw_bad_alloc, libstdc++'s: resolved on the first failure (NULL: none). */
static void (*throw_bad_alloc)(void);
static int throw_resolved;

/* libstdc++'s operator new after its malloc failed: the new-handler loop, then bad_alloc
 * (GCC 12's new_op.cc), done here without our guard, so that the handler runs as the program's
 * code and the exception object is the program's allocation (inside the real operator, under
 * the guard, it went uncounted while its free was counted). false: std::__throw_bad_alloc is
 * not to be found; the real operator does it. */
static bool direct_retry(size_t n, void **out)
{
	if (!__atomic_load_n(&throw_resolved, __ATOMIC_ACQUIRE)) {
		mp_tls.guard++;
		void *f = mp_cxx_lookup("_ZSt17__throw_bad_allocv", NULL);
		mp_tls.guard--;
		__atomic_store_n(&throw_bad_alloc, (void (*)(void))f, __ATOMIC_RELAXED);
		__atomic_store_n(&throw_resolved, 1, __ATOMIC_RELEASE);
	}
	void (*thrower)(void) = throw_bad_alloc;
	if (!thrower || !real_get_handler)
		return false;
	for (;;) {
		new_handler_t h = real_get_handler();
		if (!h) {
			new_failed(n);
			thrower();
		}
		call_handler(h, n);
		void *q = mp_real.malloc(n ? n : 1);
		if (q) {
			*out = q;
			return true;
		}
	}
}

/* operator new's slow path (fast.c). */
void *mp_cxx_new_slow(size_t n)
{
	if (!counting())
		return real_new ? RAW(real_new(n)) : malloc(n);
	if (mp_unlikely(mp_tls.map_pending)) /* tail-called by operator new: its caller's stack */
		mp_tls.map_call_sp = (uintptr_t)__builtin_dwarf_cfa();
	void *p;
	if (mp_likely(direct)) {
		p = mp_real.malloc(n ? n : 1);
		if (mp_likely(p != NULL)) {
			mp_note_alloc(&mp_tls, p, n);
			return p;
		}
		mp_alloc_failed(n);
		if (direct_retry(n, &p)) {
			mp_note_alloc(&mp_tls, p, n);
			return p;
		}
	}
	struct new_try nt __attribute__((cleanup(new_unwound))) = {n, false};
	p = GUARDED_NEW(n, real_new(n)); /* new-handler loop, or bad_alloc */
	nt.done = true;
	mp_note_alloc(&mp_tls, p, n);
	return p;
}

static void *op_new_nothrow(size_t n, const void *nt)
{
	if (!counting())
		return real_new_nt ? RAW(real_new_nt(n, nt)) : malloc(n);
	if (mp_likely(direct)) {
		void *q = mp_real.malloc(n ? n : 1);
		if (mp_likely(q != NULL)) {
			mp_note_alloc(&mp_tls, q, n);
			return q;
		}
		mp_alloc_failed(n);
	}
	void *p = GUARDED_NEW(n, real_new_nt(n, nt));
	if (p)
		mp_note_alloc(&mp_tls, p, n);
	return p;
}

/* The bytes an aligned new that succeeded asked for: n, but for a size past PTRDIFF_MAX, which
 * libstdc++ rounds up to the alignment (wrapping to a few bytes) and then allocates. Recorded
 * as n, such a size made the whole dump unreadable (its sizes sum past 2^63; black-box QA). */
static size_t aligned_request(size_t n, size_t al)
{
	return n <= PTRDIFF_MAX ? n : (n + al - 1) & ~(al - 1);
}

static void *op_new_aligned(size_t n, size_t al)
{
	if (!counting())
		return real_new_al ? RAW(real_new_al(n, al)) : aligned_alloc(al, n);
	void *p = GUARDED_NEW(n, real_new_al(n, al));
	mp_note_alloc(&mp_tls, p, aligned_request(n, al));
	return p;
}

static void *op_new_aligned_nothrow(size_t n, size_t al, const void *nt)
{
	if (!counting())
		return real_new_al_nt ? RAW(real_new_al_nt(n, al, nt)) : aligned_alloc(al, n);
	void *p = GUARDED_NEW(n, real_new_al_nt(n, al, nt));
	if (p)
		mp_note_alloc(&mp_tls, p, aligned_request(n, al));
	return p;
}

/* Every delete form ends in the plain or aligned unsized one: sizes and nothrow tags only
 * matter to allocators that use them as hints, and both of ours accept the unsized forms. */
/* operator delete's slow path (fast.c), which also serves the nothrow forms. */
void mp_cxx_delete_slow(void *p)
{
	if (!p || !counting()) {
		if (real_del)
			real_del(p);
		else
			free(p);
		return;
	}
	bool via = mp_maps_via_delete; /* a handler's delete may come between: restored */
	mp_maps_via_delete = true;
	mp_note_free(&mp_tls, p);
	mp_maps_via_delete = via;
	if (mp_likely(direct)) {
		mp_real.free(p); /* libstdc++'s delete is free() */
		return;
	}
	GUARDED(real_del(p)); /* it may end in our free(): counted once, here */
}

static void op_delete_aligned(void *p, size_t al)
{
	if (!p || !counting()) {
		if (real_del_al)
			real_del_al(p, al);
		else
			free(p);
		return;
	}
	mp_note_free(&mp_tls, p);
	GUARDED(real_del_al(p, al));
}

MP_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
	return op_new_nothrow(n, nt);
}
MP_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
	return op_new_nothrow(n, nt);
}
MP_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al)
{
	return op_new_aligned(n, al);
}
MP_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al)
{
	return op_new_aligned(n, al);
}
MP_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
	return op_new_aligned_nothrow(n, al, nt);
}
MP_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
	return op_new_aligned_nothrow(n, al, nt);
}
MP_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	mp_cxx_delete_slow(p);
}
MP_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	mp_cxx_delete_slow(p);
}
MP_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al)
{
	op_delete_aligned(p, al);
}
MP_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al)
{
	op_delete_aligned(p, al);
}
MP_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al)
{
	(void)n;
	op_delete_aligned(p, al);
}
MP_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al)
{
	(void)n;
	op_delete_aligned(p, al);
}
MP_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
	(void)nt;
	op_delete_aligned(p, al);
}
MP_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
	(void)nt;
	op_delete_aligned(p, al);
}
