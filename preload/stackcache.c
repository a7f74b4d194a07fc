/* SPDX-License-Identifier: MIT */
/* The stack of the current call as an interned id, without unwinding when the program's frames
 * are provably those of an earlier capture.
 *
 * A call that allocates or grows a map in a loop comes back with the same frames at the same
 * stack addresses again and again; libunwind then redoes the same DWARF walk (about 800
 * instructions for 8 frames). The program's part of a stack is fixed by where each return
 * address is stored and what it is. So each thread remembers, for a few recent stacks, the
 * stack slot of every frame's return address (libunwind's save locations) and its value. A call
 * whose first program return address sits in the same slot with the same value, and whose other
 * slots hold the same values too, has the same frames: a frame's return-address slot follows
 * from the previous one and the function it returns into, by that function's CFI. That holds
 * for frames of fixed size; a frame that can vary (alloca: its CFA is rbp + 16) is also pinned
 * by its saved rbp, and stacks with signal or realigned frames are not cached (locate()).
 *
 * Safety: slots are read only on this thread's own stack (bounds from stackbounds.c),
 * above the current frame and below its top, where memory is always mapped; calls on another
 * stack (sigaltstack, coroutines) are never cached. An entry is cached only the second time its
 * key comes with the same frames, so that one-off stacks cost nothing extra. */
#define UNW_LOCAL_ONLY
#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include "arena.h"
#include "stack.h"
#include "table.h"

#define SC_WAYS	   4  /* stacks sharing a first slot (or its set) */
#define SC_SETS	   4  /* by the first slot's address */
#define SC_DEPTH   32 /* deeper stacks are not cached */
#define SC_RETRIES 4  /* locations found again this often (a moving frame): give up */

enum { EMPTY, SEEN, VALID };

#define SC_NONE UINT32_MAX

/* Stack addresses are kept as byte offsets from loc0 - 8 (the lowest slot looked at: where
 * the shim's outermost frame saved the program's rbp), so an entry stays small. */
struct sc_entry {
	uint32_t gen; /* sc_gen when made */
	uint32_t id;
	uint16_t n;
	uint16_t asked; /* the depth asked for: n frames of it (fewer: the whole stack) */
	uint8_t state;
	uint8_t located; /* times locate() ran for it */
	uint32_t used;	 /* clock of its last use: the least recent of a set goes first */
	const uintptr_t *loc0;
	uintptr_t pc[SC_DEPTH];
	uint32_t loc[SC_DEPTH];	  /* frame i's return address pc[i] is stored here */
	uint32_t fploc[SC_DEPTH]; /* frame i's rbp (fpval[i]) is saved here, or SC_NONE */
	uintptr_t fpval[SC_DEPTH];
};

static inline uintptr_t word_at(const uintptr_t *loc0, uint32_t off)
{
	return *(const uintptr_t *)((uintptr_t)loc0 - 8 + off);
}

#define SC_READS 8 /* times a thread reads its stack's bounds (first use, growth, off-stack) */

/* locate() costs several unwinds (libunwind's cursor, a signal mask per step), a hit saves
 * about one: a thread whose stacks outnumber its entries (more than SC_WAYS sharing a set, a
 * loop over many call paths) evicted each one before it paid off, and ran several times
 * slower than without the cache (black-box QA: 5x on a recursion 12 frames deep). So locate()
 * runs while the hits pay for it: one per SC_PAYBACK hits, after one per entry for free. With
 * a payback of 8 (about what one costs) the thrashing thread still ran 2.7x slower; at 128 it
 * runs no slower than without the cache (0.76-0.81 s against 0.93 s), and a loop over a few
 * stacks (the common case) still has them all located at once. */
#define SC_PAYBACK 128
#define SC_CREDIT  (SC_SETS * SC_WAYS * SC_PAYBACK)
/* and the budget comes back with misses too: a thread whose credit went to stacks it never
 * saw again would otherwise never locate its hot ones (no hits without them) */
#define SC_DECAY 4096

struct mp_stack_cache {
	uintptr_t lo, hi; /* this thread's stack; 0, 0 until known */
	uint32_t reads;	  /* of the bounds so far */
	uint32_t clock;
	uint64_t hits; /* halved with locates, every SC_DECAY misses */
	uint32_t locates;
	uint32_t misses; /* toward the next SC_DECAY halving */
	struct sc_entry e[SC_SETS][SC_WAYS];
};

/* Bumped by the fork child (the stack table restarts there) and when an object is unloaded
 * (unload.c: its stacks get new ids): older entries are stale. */
static uint32_t sc_gen = 1;

void mp_stack_cache_fork_child(void)
{
	sc_gen++;
}

void mp_stack_cache_forget_all(void)
{
	__atomic_add_fetch(&sc_gen, 1, __ATOMIC_RELAXED);
}

static void forget_entries(struct mp_stack_cache *c)
{
	for (int i = 0; i < SC_SETS; i++)
		for (int k = 0; k < SC_WAYS; k++)
			c->e[i][k].state = EMPTY;
}

/* The record's cache now serves a new thread: its stack is elsewhere. */
void mp_stack_cache_forget(struct mp_stack_cache *c)
{
	c->lo = c->hi = 0;
	c->reads = 0;
	c->hits = 0;
	c->locates = 0;
	c->misses = 0;
	forget_entries(c);
}

/* Guard held. The calling thread's cache, or NULL. */
static struct mp_stack_cache *cache_of(mp_tls_t *t)
{
	mp_thread_t *r = t->rec;
	if (mp_unlikely(r == NULL))
		return NULL;
	struct mp_stack_cache *c = r->scache;
	if (mp_unlikely(c == NULL)) {
		c = mp_arena_alloc(sizeof(*c)); /* zeroed */
		if (!c)
			return NULL;
		r->scache = c;
	}
	return c;
}

/* The thread's stack bounds were read: a fixed stack's floor (not the main thread's, which
 * grows) is what an unwind must stay above (stack_floor). */
static void note_floor(mp_thread_t *r, uintptr_t lo, bool fixed)
{
	r->stack_floor = fixed ? lo : 0;
	r->floor_known = 1;
}

/* Whether loc0 lies on the thread's own stack, reading the bounds on first use and again, a few
 * times per thread, when loc0 is outside them: the main thread's stack grows, and a first use
 * on a coroutine or sigaltstack finds no bounds. Not pthread_getattr_np: it allocates under
 * the thread's own lock, and this may run inside an allocation made under that lock. */
static bool on_own_stack(mp_thread_t *r, struct mp_stack_cache *c, const uintptr_t *loc0)
{
	uintptr_t a = (uintptr_t)loc0;
	if (mp_likely(a >= c->lo && a < c->hi))
		return true;
	if (c->reads >= SC_READS)
		return false;
	c->reads++;
	uintptr_t lo, hi;
	bool fixed;
	if (!mp_stack_bounds(&lo, &hi, &fixed) || a < lo || a >= hi)
		return false;
	if (c->hi != 0 && hi != c->hi)
		forget_entries(c); /* another stack than the one the entries were made on */
	c->lo = lo;
	c->hi = hi;
	note_floor(r, lo, fixed);
	return true;
}

/* The slot of the first return address into the program: the shim's frames all keep frame
 * pointers (fast.c's, which do not, are gone by tail calls), so follow them from here until
 * a return address leaves the shim. NULL if the chain looks wrong. */
static __attribute__((always_inline)) inline const uintptr_t *first_slot(void)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	for (int k = 0; k < MP_STACK_SLACK; k++) {
		if (!mp_stack_in_self(fp[1]))
			return &fp[1];
		const uintptr_t *next = (const uintptr_t *)fp[0];
		if (next <= fp || (uintptr_t)next - (uintptr_t)fp > (1u << 20))
			return NULL;
		fp = next;
	}
	return NULL;
}

bool mp_stack_live_frames(mp_tls_t *t, uintptr_t a, size_t len)
{
	/* The bounds are read here too: with the cache off (MAPPROF_STACK_CACHE=0) or the
	 * frame-pointer walk, nothing else reads them, and no map was told moved out (the
	 * churn report's advice changed with a setting meant only for checking; QA). */
	struct mp_stack_cache *c = cache_of(t);
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	return c && on_own_stack(t->rec, c, (const uintptr_t *)sp) && a > sp && a < c->hi &&
	       len <= c->hi - a;
}

static inline bool slots_hold(const struct sc_entry *e)
{
	for (int i = 0; i < e->n; i++) {
		if ((i > 0 && word_at(e->loc0, e->loc[i]) != e->pc[i]) ||
		    (e->fploc[i] != SC_NONE && word_at(e->loc0, e->fploc[i]) != e->fpval[i]))
			return false;
	}
	return true;
}

/* A stack address as an offset for an entry keyed by loc0, if it lies between loc0 - 8 and
 * the top of the thread's stack. */
static bool offset_of(const uintptr_t *loc0, unw_word_t addr, uintptr_t hi, uint32_t *off)
{
	uintptr_t base = (uintptr_t)loc0 - 8;
	if (addr < base || addr + sizeof(uintptr_t) > hi || addr - base >= SC_NONE)
		return false;
	*off = (uint32_t)(addr - base);
	return true;
}

/* Guard held. Finds, for every frame of e (captured just now, from this function's caller,
 * with the same frames), where its return address lies, with libunwind's cursor API (about
 * seven times the cost of unw_backtrace, hence only for stacks seen twice), and decides what
 * else pins the next frame's slot. A frame whose size is fixed at that point needs nothing
 * more. A frame whose size may vary (alloca, VLA, realignment) has its CFA at rbp + 16 (or
 * rbp + K in hand-written code): a frame whose rbp points into it has that rbp value, saved in
 * a frame below, kept and checked too (when rbp merely holds a local's address, the value is
 * the same on every repeat anyway). Refused (false): signal frames, slots that are not plain
 * stack slots rising towards the top of this thread's stack, and DRAP frames (rbp points at
 * the saved caller rbp, the CFA is loaded from memory). A signal frame's stored pc is its
 * pc + 1 (stack.c), as is the interrupted frame's: the pc comparison refuses them first. */
static __attribute__((noinline)) bool locate(struct sc_entry *e, const uintptr_t *loc0,
					     uintptr_t hi)
{
	unw_context_t uc;
	unw_cursor_t cur;
	bool ok = false;
	if (!mp_unwfd_safe())
		return false;
	int cs = mp_nocancel();
	uint32_t *flag = mp_stack_capture_begin();
	if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0)
		goto out;
	int i = 0, guard = 0;
	for (;;) {
		unw_word_t ip, rbp = 0;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0)
			goto out;
		bool mine = i > 0 || (ip != 0 && !mp_stack_in_self(ip));
		unw_save_loc_t rsl = {.type = UNW_SLT_NONE};
		if (mine) {
			unw_save_loc_t sl;
			uint32_t off;
			if (ip != e->pc[i] || unw_is_signal_frame(&cur) > 0 ||
			    unw_get_save_loc(&cur, UNW_REG_IP, &sl) != 0 ||
			    sl.type != UNW_SLT_MEMORY || !offset_of(loc0, sl.u.addr, hi, &off) ||
			    (i == 0 ? sl.u.addr != (uintptr_t)loc0 : off <= e->loc[i - 1]))
				goto out;
			e->loc[i] = off;
			e->fploc[i] = SC_NONE;
			if (unw_get_reg(&cur, UNW_X86_64_RBP, &rbp) != 0 ||
			    unw_get_save_loc(&cur, UNW_X86_64_RBP, &rsl) != 0)
				goto out;
			if (i + 1 == e->n)
				break; /* the last frame's size pins nothing we check */
		} else if (++guard > MP_STACK_SLACK) {
			goto out;
		}
		if (unw_step(&cur) <= 0)
			goto out;
		if (!mine)
			continue;
		/* Frame i spans from just above the slot of its return address to its CFA, which
		 * is the stack pointer of the frame we stepped to. */
		unw_word_t cfa;
		if (unw_get_reg(&cur, UNW_REG_SP, &cfa) != 0)
			goto out;
		uintptr_t low = (uintptr_t)loc0 - 8 + e->loc[i] + 8;
		if (rbp >= low && rbp <= cfa) {
			/* rbp points into the frame: a frame pointer (CFA at rbp + 16, or rbp + K
			 * in hand-written code) or a local's address. Either way its value, saved
			 * in a frame below, is pinned: then an rbp-based CFA is determined too. A
			 * DRAP frame (rbp points at its saved caller rbp, CFA loaded from memory)
			 * is refused. */
			unw_save_loc_t csl;
			uint32_t off;
			if (cfa != rbp + 16 && (unw_get_save_loc(&cur, UNW_X86_64_RBP, &csl) != 0 ||
						(csl.type == UNW_SLT_MEMORY && csl.u.addr == rbp)))
				goto out;
			if (rsl.type != UNW_SLT_MEMORY || !offset_of(loc0, rsl.u.addr, hi, &off))
				goto out;
			e->fploc[i] = off;
			e->fpval[i] = rbp;
		}
		i++;
	}
	ok = true;
out:
	mp_stack_capture_end(flag);
	mp_cancel_restore(cs);
	return ok;
}

static inline bool same_key(const struct sc_entry *e, const uintptr_t *loc0)
{
	return e->state != EMPTY && e->loc0 == loc0 && e->pc[0] == *loc0 &&
	       e->gen == __atomic_load_n(&sc_gen, __ATOMIC_RELAXED);
}

/* Whether e answers a capture of `depth` frames: a stack shorter than the depth it was taken at
 * is whole, and answers any depth that holds it; one as long may have been cut there, and
 * answers that depth only (a map grow's deeper capture shares heap samples' call sites:
 * uthash's table allocation). */
static inline bool fits(const struct sc_entry *e, unsigned depth)
{
	return e->n < e->asked ? e->n <= depth : e->asked == depth;
}

/* The entry to replace in a set: an empty one, else the least recently used, seen-once entries
 * before validated ones (a validated stack is worth a locate()). */
static struct sc_entry *victim(struct sc_entry *set)
{
	struct sc_entry *best = &set[0];
	for (int k = 0; k < SC_WAYS; k++) {
		struct sc_entry *e = &set[k];
		if (e->state == EMPTY || e->gen != __atomic_load_n(&sc_gen, __ATOMIC_RELAXED))
			return e;
		if ((e->state == SEEN) != (best->state == SEEN) ? e->state == SEEN
								: e->used < best->used)
			best = e;
	}
	return best;
}

static uint32_t stack_id(mp_tls_t *t, unsigned depth);

/* The floor of the calling thread's fixed stack, or 0 (none known, or the main thread's,
 * which grows): from the bounds the stack cache read, or read here (without the cache, or
 * before the cache's first read succeeded). */
static uintptr_t stack_floor(mp_tls_t *t)
{
	mp_thread_t *r = t->rec;
	if (!r)
		return 0;
	if (!r->floor_known && r->floor_reads < SC_READS) {
		/* Not on the thread's own stack (a signal handler's, a coroutine's), or no
		 * descriptor to read the maps with: asked again at a later capture. */
		uintptr_t lo, hi;
		bool fixed;
		r->floor_reads++;
		if (mp_stack_bounds(&lo, &hi, &fixed))
			note_floor(r, lo, fixed);
	}
	return r->floor_known ? r->stack_floor : 0;
}

/* errno is the program's: libunwind's memory check reads a non-blocking pipe (EAGAIN), and a
 * sampled malloc must leave errno as the program set it. */
uint32_t mp_stack_id_depth(mp_tls_t *t, unsigned depth)
{
	int saved = errno;
	uint32_t id = stack_id(t, depth);
	errno = saved;
	return id;
}

uint32_t mp_stack_id(mp_tls_t *t)
{
	return mp_stack_id_depth(t, mp_config.depth);
}

static uint32_t stack_id(mp_tls_t *t, unsigned depth)
{
	const uintptr_t *loc0 = mp_config.unwind_fp || !mp_config.stack_cache ? NULL : first_slot();
	struct mp_stack_cache *c = loc0 ? cache_of(t) : NULL;
	if (c && !on_own_stack(t->rec, c, loc0))
		c = NULL;
	struct sc_entry *set = c ? c->e[((uintptr_t)loc0 >> 3) & (SC_SETS - 1)] : NULL;
	if (set) {
		for (int k = 0; k < SC_WAYS; k++) {
			struct sc_entry *e = &set[k];
			if (e->state == VALID && same_key(e, loc0) && fits(e, depth) &&
			    slots_hold(e)) {
				e->used = ++c->clock;
				c->hits++;
				return e->id;
			}
		}
	}
	if (c && ++c->misses >= SC_DECAY) {
		c->misses = 0;
		c->locates /= 2; /* both: the ratio stays, and half the credit comes back */
		c->hits /= 2;
	}
	uintptr_t pcs[depth + MP_STACK_SLACK]; /* sized to fit small thread stacks */
	bool cut;
	int n;
	uintptr_t floor = mp_config.unwind_fp ? 0 : stack_floor(t);
	/* Off the thread's own stack (c is NULL then, or there is no cache): on a signal
	 * handler's alternate stack, the room is that stack's. */
	size_t alt = mp_config.unwind_fp || c ? SIZE_MAX : mp_stack_alt_room(true);
	if (alt < MP_UNWIND_ROOM ||
	    (alt == SIZE_MAX && floor &&
	     (uintptr_t)__builtin_frame_address(0) - floor < MP_UNWIND_ROOM)) {
		/* libunwind would run off the end of this stack (a thread made with a small
		 * stack, deep in it; a small alternate signal stack): the program's call site
		 * alone. */
		n = mp_stack_first_frame(pcs);
		cut = true;
	} else {
		n = mp_stack_capture(pcs, (int)depth, &cut);
	}
	uint32_t id = mp_table_intern(t, pcs, n);
	if (!set || id == MP_NO_STACK || n <= 0 || n > SC_DEPTH || pcs[0] != *loc0 || cut)
		return id; /* a cut stack is never learned: the next capture may be whole */
	for (int k = 0; k < SC_WAYS; k++) {
		struct sc_entry *e = &set[k];
		if (!same_key(e, loc0) || e->id != id || e->asked != depth)
			continue;
		/* Seen before with the same frames (same id: the same interned stack), or valid
		 * but a slot moved: find the slots (again). */
		if (e->located < SC_RETRIES &&
		    (uint64_t)c->locates * SC_PAYBACK <= c->hits + SC_CREDIT) {
			e->located++;
			c->locates++; /* at most 8192: halved every SC_DECAY misses, each locate's
				       */
			e->state = locate(e, loc0, c->hi) ? VALID : SEEN;
		}
		e->used = ++c->clock;
		return id;
	}
	struct sc_entry *e = victim(set);
	e->gen = __atomic_load_n(&sc_gen, __ATOMIC_RELAXED);
	e->id = id;
	e->n = (uint16_t)n;
	e->asked = (uint16_t)depth;
	e->located = 0;
	e->used = ++c->clock;
	for (int i = 0; i < n; i++)
		e->pc[i] = pcs[i];
	e->loc0 = loc0;
	e->state = SEEN;
	return id;
}
