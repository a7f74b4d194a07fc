/* SPDX-License-Identifier: MIT */
/* Counts the shim's full unwinds: preloaded after libmapprof.so, this unw_backtrace comes first
 * in the global scope, counts the call and forwards to libunwind's. At exit it prints
 * "unwcount: N" on stderr, so a test can tell whether the stack cache did its job. It counts
 * fstat calls the same way ("fstatcount: N"): the shim's check of libunwind's descriptors
 * must not run at every unwind. */
#include <dlfcn.h>
#include <stdio.h>
#include <sys/stat.h>
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

typedef int (*fstat_fn)(int, struct stat *);
static unsigned long fstats;
static fstat_fn real_fstat;

int fstat(int fd, struct stat *st)
{
	__atomic_fetch_add(&fstats, 1, __ATOMIC_RELAXED);
	if (!real_fstat)
		real_fstat = (fstat_fn)dlsym(RTLD_NEXT, "fstat");
	return real_fstat(fd, st);
}

__attribute__((destructor)) static void report(void)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "unwcount: %lu\nfstatcount: %lu\n", calls, fstats);
	if (write(2, line, (size_t)n) < 0)
		return;
}
