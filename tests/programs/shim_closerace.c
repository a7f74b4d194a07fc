/* SPDX-License-Identifier: MIT */
/* A program that closes every descriptor from 3 up while another thread dumps through the API
 * (tests/integration/shim_fds.sh): each round close_range(3, ~0), then a file of its own is
 * written, read back and checked. The dump's file must never be the program's: its data
 * corrupted, its file hard-linked into the dump directory, a "dump" that is its data. Prints
 * "corrupt N". Usage: shim_closerace DIR ROUNDS */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mapprof.h"

static atomic_int stop;

static void *dumper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		MAPPROF_DUMP();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int rounds = atoi(argv[2]);
	pthread_t t;
	if (pthread_create(&t, NULL, dumper, NULL) != 0)
		return 1;
	static char buf[4096], expect[4096];
	char path[512];
	memset(expect, 'x', sizeof(expect));
	int corrupt = 0;
	for (int i = 0; i < rounds; i++) {
		close_range(3, ~0U, 0);
		snprintf(path, sizeof(path), "%s/data.%d", argv[1], i % 4);
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, expect, sizeof(expect)) != (ssize_t)sizeof(expect))
			return 3;
		usleep(50);
		ssize_t n = pread(fd, buf, sizeof(buf), 0);
		off_t end = lseek(fd, 0, SEEK_END);
		if (n != (ssize_t)sizeof(buf) || memcmp(buf, expect, sizeof(buf)) ||
		    end != (off_t)sizeof(buf))
			corrupt++;
		close(fd);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("corrupt %d\n", corrupt);
	return 0;
}
