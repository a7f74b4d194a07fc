/* SPDX-License-Identifier: MIT */
/* 2^D distinct stacks that each make a one-item uthash table (tests/integration/maps.sh, built
 * with mapprof/uthash.h force-included), then one 32 MiB malloc. Usage: maps_capsites D. Run
 * under an address-space limit that the program fits plain: the profiler's tables for the
 * sites took the room, and the 32 MiB malloc failed (the program's behaviour changed; the
 * dump could not be built either). Prints "ok" and exits 0, or says that the malloc failed.
 * With a second argument "vfork", a vfork child first lowers its own RLIMIT_AS to 16 MiB and
 * execs true: the parent's limit is not the child's (its cap was, and it dropped sites). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "uthash.h"

struct item {
	int key;
	UT_hash_handle hh;
};

__attribute__((noinline)) static void leaf(unsigned long path)
{
	struct item *h = NULL, *it = malloc(sizeof(*it));
	it->key = (int)path;
	HASH_ADD_INT(h, key, it);
	HASH_DEL(h, it);
	free(it);
}

__attribute__((noinline)) static void rec(int d, unsigned long path);
/* Two callers per level: every path is a stack of its own. */
__attribute__((noinline)) static void rec_a(int d, unsigned long path)
{
	rec(d, path);
	__asm__ volatile("");
}
__attribute__((noinline)) static void rec_b(int d, unsigned long path)
{
	rec(d, path);
	__asm__ volatile("");
}
__attribute__((noinline)) static void rec(int d, unsigned long path)
{
	if (d == 0) {
		leaf(path);
		return;
	}
	if (path & (1UL << (d - 1)))
		rec_a(d - 1, path);
	else
		rec_b(d - 1, path);
	__asm__ volatile("");
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 10;
	if (argc > 2 && strcmp(argv[2], "vfork") == 0) {
		pid_t pid = vfork();
		if (pid == 0) {
			struct rlimit r = {16 << 20, 16 << 20};
			setrlimit(RLIMIT_AS, &r);
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return 2;
	}
	for (unsigned long p = 0; p < (1UL << depth); p++)
		rec(depth, p);
	char *big = malloc(32 << 20);
	if (!big) {
		printf("malloc(32MiB) failed\n");
		return 1;
	}
	memset(big, 1, 32 << 20);
	free(big);
	printf("ok\n");
	return 0;
}
