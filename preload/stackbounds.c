/* SPDX-License-Identifier: MIT */
/* The calling thread's own stack mapping, found without a lock or an allocation: the stack
 * cache needs it inside malloc, where pthread_getattr_np would deadlock (it holds the thread's
 * lock while it allocates) and fopen would recurse. /proc/self/maps is read with raw system
 * calls into a stack buffer; a thread whose stack glibc made reads its block from its thread
 * descriptor instead, once a first read has shown where that keeps it (below). The mapping holding
 * the current stack pointer counts only if it is the thread's real stack: for the main thread, the
 * mapping that also holds __libc_stack_end (the top of the stack the kernel gave the process; the
 * kernel labels it "[stack]", valgrind does not label its client stack); for other threads, the
 * block that also holds the thread's descriptor (glibc puts it at the top of the thread's stack,
 * also of a stack given with pthread_attr_setstack). A coroutine stack or a sigaltstack is neither.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fdgate.h"
#include "stack.h"

/* ld.so's record of where the main thread's stack began (its highest used address). */
extern void *__libc_stack_end;

struct scan {
	uintptr_t lo, hi; /* current line's range */
	int field;	  /* 0: low hex, 1: high hex, 2: perms, 3 offset, 4 dev, 5 inode, 6 path */
	bool gap;	  /* the last character was a space between fields */
	size_t plen;	  /* of the path so far */
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

struct maps_find {
	uintptr_t a, b, *lo, *hi;
	char *path;
	size_t n;
};

static int maps_find_fn(void *arg)
{
	const struct maps_find *m = arg;
	uintptr_t a = m->a, b = m->b, *lo = m->lo, *hi = m->hi;
	char *path = m->path;
	size_t n = m->n;
	int fd = mp_fd_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	char buf[512]; /* inside malloc, perhaps on a small thread stack */
	struct scan s = {0};
	bool found = false;
	ssize_t got;
	while (!found && (got = syscall(SYS_read, fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < got && !found; i++) {
			char c = buf[i];
			if (c == '\n') {
				if (s.field >= 2 && a >= s.lo && a < s.hi && b >= s.lo &&
				    b < s.hi) {
					*lo = s.lo;
					*hi = s.hi;
					if (path)
						path[s.plen] = 0;
					found = true;
				}
				s = (struct scan){0};
				continue;
			}
			if (s.field < 2) {
				int v = hexval(c);
				if (v >= 0) {
					uintptr_t *w = s.field == 0 ? &s.lo : &s.hi;
					*w = (*w << 4) | (uintptr_t)v;
				} else {
					s.field++; /* '-' or ' ' */
				}
			} else if (s.field < 6) {
				if (c == ' ')
					s.gap = true;
				else if (s.gap)
					s.field++,
					    s.gap = false; /* a field starts: the path is the 6th */
			}
			if (s.field == 6 && path && s.plen + 1 < n)
				path[s.plen++] = c;
		}
	}
	mp_fd_close(fd);
	return found;
}

/* With private descriptors (mp_fd_private): another thread of the program may be between a
 * close() and the open() that expects its number. */
bool mp_proc_maps_find(uintptr_t a, uintptr_t b, uintptr_t *lo, uintptr_t *hi, char *path, size_t n)
{
	struct maps_find m = {a, b, lo, hi, path, n};
	return mp_fd_private(maps_find_fn, &m) != 0;
}

/* The same, for a thread's own stack: every new thread looks once. */
static bool stack_maps_find(uintptr_t a, uintptr_t b, uintptr_t *lo, uintptr_t *hi)
{
	struct maps_find m = {a, b, lo, hi, NULL, 0};
	return mp_fd_private_bulk(maps_find_fn, &m) != 0;
}

/* glibc's thread descriptor (at pthread_self(), the top of the thread's stack block) holds the
 * block in three words in a row: stackblock, stackblock_size, guardsize. Where, is learned from
 * the first thread whose /proc/self/maps line confirms them (its mapping is the block above its
 * guard): later threads read them there, with no /proc read (each new thread read it at its
 * first sample or map grow, which took milliseconds with thousands of threads alive). A word
 * index; -1 until learned. Any thread may learn it (the first to find it wins). */
static int block_at = -1;
#define BLOCK_SCAN 512 /* words of the descriptor looked at: glibc's is about 290 */

static bool from_descriptor(uintptr_t self, uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	int k = __atomic_load_n(&block_at, __ATOMIC_RELAXED);
	if (k < 0)
		return false;
	const uintptr_t *w = (const uintptr_t *)self;
	uintptr_t sb = w[k], sz = w[k + 1], g = w[k + 2];
	/* Only a stack glibc made, with its guard: one given with pthread_attr_setstackaddr and
	 * no size reads as the default size below the address, whose floor would be megabytes
	 * too low (libunwind then ran off a 64 KiB stack). */
	if (!(g != 0 && sb + g < sp && sp < self && self < sb + sz &&
	      sb + sz - self < ((uintptr_t)1 << 20) && g < sz))
		return false;
	*lo = sb + g;
	*hi = sb + sz;
	return true;
}

/* The mapping [lo, hi) holds this thread's stack above its guard: where its descriptor says so,
 * if it does (within the mapping: never read past hi). */
static void learn(uintptr_t self, uintptr_t lo, uintptr_t hi)
{
	if (__atomic_load_n(&block_at, __ATOMIC_RELAXED) >= 0 || hi <= self)
		return;
	const uintptr_t *w = (const uintptr_t *)self;
	size_t words = (hi - self) / sizeof(uintptr_t);
	for (size_t k = 0; k + 2 < words && k + 2 < BLOCK_SCAN; k++) {
		if (w[k] && w[k + 2] && w[k + 2] < w[k + 1] && w[k] + w[k + 2] == lo &&
		    w[k] + w[k + 1] == hi) {
			int none = -1;
			__atomic_compare_exchange_n(&block_at, &none, (int)k, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			return;
		}
	}
}

bool mp_stack_bounds(uintptr_t *lo, uintptr_t *hi, bool *fixed)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	bool main_thread = syscall(SYS_gettid) == syscall(SYS_getpid);
	/* What the stack mapping must also hold (pthread_self reads a register: no lock). */
	uintptr_t self = main_thread ? (uintptr_t)__libc_stack_end : (uintptr_t)pthread_self();
	if (!main_thread && from_descriptor(self, sp, lo, hi)) {
		*hi = self;
		*fixed = true;
		return true;
	}
	if (!stack_maps_find(sp, self, lo, hi))
		return false;
	if (!main_thread)
		learn(self, *lo, *hi);
	/* A stack given with pthread_attr_setstack may lie in a larger mapping (the heap):
	 * frames are below the descriptor in any case. */
	if (!main_thread)
		*hi = self;
	*fixed = !main_thread;
	return true;
}
