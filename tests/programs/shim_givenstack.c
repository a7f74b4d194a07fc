// SPDX-License-Identifier: MIT
// A thread on a stack the program gives (tests/integration/shim_stacks.sh): a 64 KiB block
// with a guard page below, given with pthread_attr_setstackaddr (no size: glibc's descriptor
// then says the default size below the address) or pthread_attr_setstack. It recurses until
// LEFT bytes of the block are left, allocating at every level; a thread with a stack glibc
// made comes first each time (the stack bounds are learned from one). The descriptor's block
// of a setstackaddr stack put the floor megabytes low, and libunwind ran off the block
// (SIGSEGV). Usage: shim_givenstack addr|stack LEFT. Prints "ok MODE".
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static char *block_lo;
static size_t leave;
static volatile int sink;

static __attribute__((noinline)) void rec(int d)
{
	volatile char pad[200];
	pad[0] = (char)d;
	char *p = malloc(16 + (size_t)(d & 7));
	p[0] = (char)d;
	sink += p[0];
	free(p);
	char *sp = (char *)__builtin_frame_address(0);
	if ((size_t)(sp - block_lo) > leave)
		rec(d + 1);
	sink += pad[0];
}

static void *deep(void *a)
{
	(void)a;
	rec(0);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "addr";
	size_t sz = 64 * 1024;
	leave = argc > 2 ? (size_t)atoi(argv[2]) : 3000;
	char *m = mmap(NULL, sz + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, 4096, PROT_NONE) != 0)
		return 2;
	block_lo = m + 4096;
	pthread_attr_t at;
	pthread_attr_init(&at);
	/* deprecated, and the linker says so: looked up instead */
	int (*setstackaddr)(pthread_attr_t *, void *) =
	    (int (*)(pthread_attr_t *, void *))dlsym(RTLD_DEFAULT, "pthread_attr_setstackaddr");
	int rc = !strcmp(mode, "addr") ? (setstackaddr ? setstackaddr(&at, block_lo + sz) : 5)
				       : pthread_attr_setstack(&at, block_lo, sz);
	if (rc != 0)
		return 3;
	for (int i = 0; i < 3; i++) {
		pthread_t w, t;
		/* a thread with a stack glibc made, whose start routine is malloc itself */
		if (pthread_create(&w, NULL, (void *(*)(void *))malloc, (void *)100000) != 0)
			return 4;
		void *leak;
		pthread_join(w, &leak);
		free(leak);
		if (pthread_create(&t, &at, deep, NULL) != 0)
			return 4;
		pthread_join(t, NULL);
	}
	printf("ok %s\n", mode);
	return 0;
}
