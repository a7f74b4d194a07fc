/* SPDX-License-Identifier: MIT */
/* The benchmark's launcher: runs one command and writes its wall time, CPU time and peak RSS to
 * a file. scripts/bench.py spawns every timed run through it because Linux carries a process's
 * peak RSS across fork and exec: a workload forked from the (large) Python process would report
 * Python's RSS as its own peak. Forked from this small process, it reports its own (as
 * /usr/bin/time does), and the times come with ns/us resolution rather than time(1)'s 10 ms.
 * Usage: bench_spawn OUTFILE [NAME=VALUE...] -- CMD [ARG...]
 * The NAME=VALUE pairs are set in the child only, so a preloaded profiler never runs in here.
 * OUTFILE gets one line: "wall_ns N utime_us N stime_us N maxrss_kb N status N" where status is
 * the raw wait status. CPU and peak RSS include every descendant the command waited for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int cmd = 2;
	while (cmd < argc && strcmp(argv[cmd], "--") != 0)
		cmd++;
	if (cmd + 1 >= argc) {
		fprintf(stderr, "usage: bench_spawn OUTFILE [NAME=VALUE...] -- CMD [ARG...]\n");
		return 2;
	}
	long long t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_spawn: fork");
		return 2;
	}
	if (pid == 0) {
		for (int i = 2; i < cmd; i++)
			putenv(argv[i]);
		execvp(argv[cmd + 1], argv + cmd + 1);
		perror("bench_spawn: exec");
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("bench_spawn: wait4");
		return 2;
	}
	long long wall = now_ns() - t0;
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror("bench_spawn: output file");
		return 2;
	}
	fprintf(f, "wall_ns %lld utime_us %lld stime_us %lld maxrss_kb %ld status %d\n", wall,
		(long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
		(long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss,
		status);
	return fclose(f) == 0 ? 0 : 2;
}
