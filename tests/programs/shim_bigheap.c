/* SPDX-License-Identifier: MIT */
/* A heap that peaks at 24 MiB in 256-byte blocks, half of them freed before exit, half after
 * (tests/integration/shim_exact.sh): glibc's mallinfo2 would walk every free chunk under the
 * allocator's lock at the exit dump, so the dump's allocator section leaves it out. With an
 * argument, a child that allocates nothing is forked first (its dump has them). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define N (24 * 4096)

static void *blocks[N];

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		pid_t c = fork();
		if (c == 0)
			return 0;
		waitpid(c, NULL, 0);
	}
	for (int i = 0; i < N; i++)
		blocks[i] = malloc(256);
	for (int i = 0; i < N; i += 2)
		free(blocks[i]);
	size_t live = 0;
	for (int i = 1; i < N; i += 2)
		live += blocks[i] != NULL;
	printf("bigheap %zu\n", live);
	return 0;
}
