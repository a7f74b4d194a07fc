/* SPDX-License-Identifier: MIT */
/* The calling thread's own stack mapping, found without a lock or an allocation: the stack
 * cache needs it inside malloc, where pthread_getattr_np would deadlock (it holds the thread's
 * lock while it allocates) and fopen would recurse. /proc/self/maps is read with raw system
 * calls into a stack buffer. The mapping holding the current stack pointer counts only if it is
 * the thread's real stack: "[stack]" for the main thread; for other threads, the block that
 * also holds the thread's descriptor (glibc puts it at the top of the thread's stack, also of
 * a stack given with pthread_attr_setstack). A coroutine stack or a sigaltstack is neither. */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "stack.h"

struct scan {
	uintptr_t lo, hi; /* current line's range */
	int field;	  /* 0: low hex, 1: high hex, 2: rest of the line */
	char tail[8];	  /* last characters of the line, for "[stack]" */
	unsigned ntail;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool mp_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t self = (uintptr_t)pthread_self(); /* reads the thread pointer: no lock */
	bool main_thread = syscall(SYS_gettid) == syscall(SYS_getpid);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
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
				bool named_stack =
				    s.ntail >= 7 && !memcmp(s.tail + s.ntail - 7, "[stack]", 7);
				if (s.field == 2 && sp >= s.lo && sp < s.hi &&
				    (main_thread ? named_stack : self >= s.lo && self < s.hi)) {
					*lo = s.lo;
					/* A stack given with pthread_attr_setstack may lie in a
					 * larger mapping (the heap): frames are below the
					 * descriptor in any case. */
					*hi = main_thread ? s.hi : self;
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
				continue;
			}
			/* Keep the last 8 characters of the line. */
			if (s.ntail == 8) {
				memmove(s.tail, s.tail + 1, 7);
				s.ntail = 7;
			}
			s.tail[s.ntail++] = c;
		}
	}
	syscall(SYS_close, fd);
	return found;
}
