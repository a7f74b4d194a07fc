/* SPDX-License-Identifier: MIT */
/* Counts the shim's full unwinds: preloaded after libmapprof.so, this unw_backtrace comes first
 * in the global scope, counts the call and forwards to libunwind's. At exit it prints
 * "unwcount: N" on stderr, so a test can tell whether the stack cache did its job. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

typedef int (*bt_fn)(void **, int);
static unsigned long calls;
static bt_fn real;

/* A tail call (Makefile: -O2, no frame pointer): no frame of ours in the stack captured. The
 * real one is looked up on first use: other libraries' constructors allocate before ours. */
int unw_backtrace(void **buf, int size)
{
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	if (!real)
		real = (bt_fn)dlsym(RTLD_NEXT, "unw_backtrace");
	return real(buf, size);
}

__attribute__((destructor)) static void report(void)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "unwcount: %lu\n", calls);
	if (write(2, line, (size_t)n) < 0)
		return;
}
