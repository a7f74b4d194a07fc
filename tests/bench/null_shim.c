/* SPDX-License-Identifier: MIT */
/* The benchmark's floor: a forwarding-only LD_PRELOAD shim. Every malloc-family call goes
 * straight to glibc's __libc_* entry points (no dlsym bootstrap needed) after decrementing an
 * initial-exec TLS byte countdown, the minimum a sampling profiler must do per call; nothing is
 * recorded. Built a second time with -DNULL_SHIM_COUNT (null_shim_count.so) it also counts the
 * calls with relaxed atomics and, when MAPPROF_BENCH_COUNT=FILE is set, appends
 * "alloc_calls N free_calls M pid P" to FILE at exit: scripts/bench.py runs that once per
 * workload for the "extra ns per allocation call" column. The floor build has no counting code
 * at all, so it costs exactly the forwarding and the countdown. glibc underneath only. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT	   __attribute__((visibility("default")))
#define MEAN_BYTES 524288

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/* Per-thread byte countdown to the next "sample point". Initial-exec TLS so the malloc path
 * never calls __tls_get_addr (which may allocate). Written and read by its own thread only. */
static __thread long countdown __attribute__((tls_model("initial-exec"))) = MEAN_BYTES;
#ifdef NULL_SHIM_COUNT
/* Written with relaxed atomics by every thread; read by the destructor. */
static uint64_t alloc_calls, free_calls;
/* Path from MAPPROF_BENCH_COUNT; written by the constructor, read by the destructor. */
static char count_path[4096];
#endif

/* A sample point: a real profiler would capture a stack here. Nothing is recorded; the next
 * interval is fixed (the floor needs the branch, not the distribution). */
static __attribute__((noinline, cold)) void sample_point(void)
{
	countdown = MEAN_BYTES;
}

/* Hot path; must not allocate or lock. */
static inline void on_alloc(size_t size)
{
	countdown -= (long)size;
	if (__builtin_expect(countdown < 0, 0))
		sample_point();
#ifdef NULL_SHIM_COUNT
	__atomic_fetch_add(&alloc_calls, 1, __ATOMIC_RELAXED);
#endif
}

static inline void on_free(void *ptr)
{
#ifdef NULL_SHIM_COUNT
	if (ptr)
		__atomic_fetch_add(&free_calls, 1, __ATOMIC_RELAXED);
#else
	(void)ptr;
#endif
}

EXPORT void *malloc(size_t size)
{
	on_alloc(size);
	return __libc_malloc(size);
}

EXPORT void free(void *ptr)
{
	on_free(ptr);
	__libc_free(ptr);
}

EXPORT void *calloc(size_t n, size_t size)
{
	on_alloc(n * size);
	return __libc_calloc(n, size);
}

EXPORT void *realloc(void *ptr, size_t size)
{
	on_alloc(size);
	return __libc_realloc(ptr, size);
}

EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, total);
}

EXPORT void *memalign(size_t align, size_t size)
{
	on_alloc(size);
	return __libc_memalign(align, size);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	on_alloc(size);
	return __libc_memalign(align, size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	on_alloc(size);
	void *p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *valloc(size_t size)
{
	on_alloc(size);
	return __libc_valloc(size);
}

EXPORT void *pvalloc(size_t size)
{
	on_alloc(size);
	return __libc_pvalloc(size);
}

#ifdef NULL_SHIM_COUNT
static __attribute__((constructor)) void null_shim_init(void)
{
	const char *p = getenv("MAPPROF_BENCH_COUNT");
	if (p && *p && strlen(p) < sizeof(count_path)) {
		memcpy(count_path, p, strlen(p) + 1);
	}
}

/* write(2), not stdio: the program's stdio may already be torn down. */
static __attribute__((destructor)) void null_shim_fini(void)
{
	if (!count_path[0])
		return;
	char line[128];
	int n = snprintf(line, sizeof(line), "alloc_calls %llu free_calls %llu pid %d\n",
			 (unsigned long long)__atomic_load_n(&alloc_calls, __ATOMIC_RELAXED),
			 (unsigned long long)__atomic_load_n(&free_calls, __ATOMIC_RELAXED),
			 (int)getpid());
	int fd = open(count_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* nothing to do: the harness reports a missing count */
	}
	close(fd);
}
#endif
