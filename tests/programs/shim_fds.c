/* SPDX-License-Identifier: MIT */
/* A program that closes every descriptor from 3 up, as daemons do, then copies IN to OUT
 * through descriptors it opens at known numbers, allocating from call stacks never seen before
 * on the way. The profiler must not read its input, write into its output or close either.
 *   shim_fds closeall IN OUT  input at 3, output at 4 (the lowest free numbers)
 *   shim_fds takeover IN OUT  input and output dup2'd onto the numbers of any pipes the
 *                             process held before closing them (the profiler's, if any)
 *   shim_fds signal IN OUT    as closeall, raising SIGUSR2 every 50 blocks (MAPPROF_SIGNAL)
 * Prints "copied N" and exits 0 when both descriptors are still its files at the end. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Chains of distinct functions with large frames: every return address is new to libunwind,
 * which then steps with its memory validation over stack pages its small cache has not seen. */
#define LINK(p, k, next)                                                                           \
	__attribute__((noinline)) static void *p##k(size_t n)                                      \
	{                                                                                          \
		volatile char pad[1200 + 40 * k];                                                  \
		pad[0] = (char)n;                                                                  \
		void *r = next(n);                                                                 \
		pad[1] = pad[0];                                                                   \
		return r;                                                                          \
	}
#define CHAIN(p)                                                                                   \
	LINK(p, 9, malloc)                                                                         \
	LINK(p, 8, p##9)                                                                           \
	LINK(p, 7, p##8)                                                                           \
	LINK(p, 6, p##7)                                                                           \
	LINK(p, 5, p##6)                                                                           \
	LINK(p, 4, p##5) LINK(p, 3, p##4) LINK(p, 2, p##3) LINK(p, 1, p##2) LINK(p, 0, p##1)
CHAIN(a)
CHAIN(b)
CHAIN(c)
CHAIN(d)
CHAIN(e)
CHAIN(f)
CHAIN(g)
CHAIN(h)
static void *(*const chains[])(size_t) = {b0, c0, d0, e0, f0, g0, h0};

/* The pipes this process holds (descriptors 3 and up), lowest first. */
static int held_pipes(int *fds, int max)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		int fd = atoi(e->d_name);
		struct stat st;
		if (fd >= 3 && fd != self && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			fds[n++] = fd;
	}
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j] < fds[j - 1]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	return n;
}

static int fail(const char *what)
{
	fprintf(stderr, "shim_fds: %s\n", what);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return fail("usage: shim_fds closeall|takeover|signal IN OUT");
	const char *mode = argv[1];
	free(a0(10)); /* the profiler unwinds once: libunwind opens what it opens */
	int pipes[8];
	int np = held_pipes(pipes, 8);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	int in = open(argv[2], O_RDONLY);
	int out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in != 3 || out != 4)
		return fail("open did not give 3 and 4");
	if (!strcmp(mode, "takeover")) {
		if (np < 2) {
			printf("no pipes held\n"); /* nothing to take over: copy at 3 and 4 */
		} else {
			if (dup2(in, pipes[0]) != pipes[0] || dup2(out, pipes[1]) != pipes[1])
				return fail("dup2");
			close(in);
			close(out);
			in = pipes[0];
			out = pipes[1];
		}
	}
	int sig = !strcmp(mode, "signal");
	if (sig)
		raise(SIGUSR2);
	char buf[64];
	ssize_t n;
	long copied = 0;
	unsigned i = 0;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		free(chains[i % 7](64 + i % 13));
		if (write(out, buf, n) != n)
			return fail("short write");
		copied += n;
		if (sig && ++i % 50 == 0) {
			raise(SIGUSR2);
			usleep(20000); /* let the dump thread run while the files are open */
		} else if (!sig) {
			i++;
		}
	}
	if (n < 0)
		return fail("read");
	if (fcntl(in, F_GETFD) < 0 || fcntl(out, F_GETFD) < 0)
		return fail("a descriptor was closed under the program");
	printf("copied %ld\n", copied);
	return 0;
}
