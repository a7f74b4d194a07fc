// SPDX-License-Identifier: MIT
/* libunwind's pipe against a program that closes all its descriptors in a loop
 * (tests/integration/shim_fds.sh). Four threads allocate and start short threads (whose
 * unwinds find the pipe closed and reopen it, each on its own); main closes everything from 3
 * up, writes a file and reads it back, and redirects stdout with close(1) and open(). libunwind
 * reopened its pipe on several threads at once without a lock, each closing the numbers the
 * others (or the program) had just been given: the program's files were closed under it,
 * stack bytes went into them, and a write to a pipe whose reader was gone killed it (SIGPIPE).
 *   shim_unwpipe ITERATIONS: prints "mismatch N" (files that did not read back what was
 *   written); exits 0. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int stop;

static void *worker(void *arg)
{
	(void)arg;
	for (long k = 0; !stop; k++) {
		free(malloc(16 + (size_t)(k % 4096)));
		if (k % 1000 == 0) {
			pthread_t t;
			if (pthread_create(&t, NULL, (void *(*)(void *))malloc, (void *)100) == 0)
				pthread_join(t, NULL);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 3000;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	int mismatch = 0;
	for (int i = 0; i < iters; i++) {
		if (i % 2)
			close_range(3, ~0U, 0);
		else
			closefrom(3);
		char name[32], buf[32], back[32] = {0};
		snprintf(name, sizeof(name), "f%d.txt", i % 4);
		int n = snprintf(buf, sizeof(buf), "iter %d\n", i);
		int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		if (fd < 0 || write(fd, buf, (size_t)n) != n)
			mismatch++;
		close(fd);
		fd = open(name, O_RDONLY);
		if (fd < 0 || read(fd, back, sizeof(back) - 1) != n || strcmp(back, buf) != 0)
			mismatch++;
		close(fd);
		close(1);
		int o = open("out.log", O_CREAT | O_APPEND | O_WRONLY, 0644);
		dprintf(o, "L%d\n", i);
		if (o != 1 && o >= 0) {
			dup2(o, 1);
			close(o);
		}
	}
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	dprintf(2, "mismatch %d\n", mismatch);
	return 0;
}
