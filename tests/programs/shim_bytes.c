/* SPDX-License-Identifier: MIT */
/* Exact byte totals at a sampled rate (tests/integration/shim_bytes.sh). The fast path counts
 * its bytes only by moving the thread's sample budget (preload/mp.h, mp_avail_set), so every
 * place that resets the budget must fold them in: sample points, thread exit, a record reused
 * by the next thread, fork, snapshots of threads that run.
 *
 * Usage: shim_bytes exit   8 threads one after another and 4 at once allocate known bytes
 *                          and exit; main allocates too.
 *        shim_bytes snap   2 threads allocate while main writes 40 snapshots with
 *                          mapprof_dump(), each after the threads moved, then a final one at
 *                          exit.
 *        shim_bytes fork   main allocates, forks; the child allocates CHILD_BYTES and exits
 *                          with exit() (its dump holds only those), the parent waits.
 *        shim_bytes fail   main allocates small and large blocks, then, under an RLIMIT_AS
 *                          just above its size set with the prlimit64 system call (which the
 *                          shim does not see), asks for FAILS blocks of 4..12 MiB that cannot
 *                          be had: failed calls are no allocations. Prints the bytes and then
 *                          the calls that succeeded.
 *        shim_bytes small HOW
 *                          small blocks fail: main fills the heap with 4 KiB blocks up to an
 *                          address-space limit 4 MiB above its size, then (except with `raw`)
 *                          50 times asks for 2000 blocks of 32 bytes (which fail) and, after
 *                          a free, one of 4000 bytes (which succeeds). Then 20000 times a
 *                          block of 32 bytes is freed and asked for again, and one more is
 *                          asked for, which fails. HOW says who set the limit: `set`, the
 *                          program with setrlimit; `inherited`, the shell before exec (the
 *                          program only raises it again at the end); `raw` or `raw-odd`, the
 *                          program with the prlimit64 system call, which the shim does not
 *                          see; `mlock`, no address-space limit but 4 MiB of RLIMIT_MEMLOCK
 *                          and mlockall(MCL_FUTURE) (run it without CAP_IPC_LOCK; exit 77 when
 *                          the hard limit is below 1 MiB). Except with `raw`, errno is cleared
 *                          after each failure: the shim must know of the limit without it.
 *                          Prints the bytes and then the calls that succeeded.
 * Every size but the large ones of `fail` is 8..4096 bytes, well below MAPPROF_RATE=1048576, so
 * nearly every byte goes through the fast path. No stdio before the counts: they would add libc's
 * own bytes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mapprof.h"

#define NOINLINE __attribute__((noinline, noclone))

/* n allocations of 8 + (i * 37 + salt) % 4089 bytes, each freed at once: returns the bytes. */
NOINLINE static unsigned long churn(long n, unsigned salt)
{
	unsigned long bytes = 0;
	for (long i = 0; i < n; i++) {
		size_t sz = 8 + ((size_t)i * 37 + salt) % 4089;
		char *volatile p = malloc(sz);
		if (!p)
			_exit(3);
		p[0] = 1;
		free(p);
		bytes += sz;
	}
	return bytes;
}

static unsigned long thread_bytes[16];

static void *worker(void *arg)
{
	long i = (long)arg;
	thread_bytes[i] = churn(20000 + i * 1000, (unsigned)i);
	return NULL;
}

/* Runs until main has its snapshots, in rounds of 1000 allocations; `progress` lets main take
 * each snapshot only after the threads moved, however loaded the machine. */
static volatile int snap_stop;
static volatile unsigned long progress;

static void *snap_worker(void *arg)
{
	long i = (long)arg;
	unsigned long bytes = 0;
	while (!snap_stop) {
		bytes += churn(1000, (unsigned)i);
		__atomic_fetch_add(&progress, 1, __ATOMIC_RELAXED);
	}
	thread_bytes[i] = bytes;
	return NULL;
}

#define FAILS 400

/* The process's address-space size in bytes, from /proc/self/statm without stdio; 0 if unknown. */
static unsigned long vm_bytes(void)
{
	char b[64];
	int fd = open("/proc/self/statm", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	unsigned long pages = 0;
	for (ssize_t i = 0; i < n && b[i] >= '0' && b[i] <= '9'; i++)
		pages = pages * 10 + (unsigned long)(b[i] - '0');
	return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}

/* Large blocks kept and freed (they take the shim's slow path), then FAILS requests that fail
 * under an address-space limit 1 MiB above the current size. *calls gets the successful
 * calls; returns their bytes. */
NOINLINE static unsigned long fail_mode(unsigned long *calls)
{
	unsigned long bytes = churn(20000, 3);
	*calls = 20000;
	for (unsigned i = 0; i < 100; i++) {
		size_t sz = (200u << 10) + (size_t)i * 10007;
		char *volatile p = malloc(sz);
		if (!p)
			_exit(3);
		p[sz - 1] = 1;
		free(p);
		bytes += sz;
		++*calls;
	}
	struct rlimit old, lim;
	unsigned long vm = vm_bytes();
	if (vm == 0 || getrlimit(RLIMIT_AS, &old) != 0)
		_exit(7);
	lim = old;
	lim.rlim_cur = vm + (1u << 20);
	if (syscall(SYS_prlimit64, 0, RLIMIT_AS, &lim, NULL) != 0)
		_exit(7);
	unsigned long failed = 0;
	for (unsigned i = 0; i < FAILS; i++) {
		size_t sz = (4u << 20) + (size_t)i * 20011;
		char *volatile p = malloc(sz);
		if (p) { /* the heap had room after all: an allocation like any other */
			free(p);
			bytes += sz;
			++*calls;
		} else {
			failed++;
		}
	}
	if (setrlimit(RLIMIT_AS, &old) != 0)
		_exit(7);
	if (failed < FAILS / 2)
		_exit(8); /* the limit did not bite: nothing tested */
	return bytes;
}

/* Blocks the small mode keeps (not from malloc: no allocation of the test's own). */
static void *kept[200000];

NOINLINE static unsigned long small_mode(const char *how, unsigned long *calls)
{
	struct rlimit old, lim;
	if (getrlimit(RLIMIT_AS, &old) != 0)
		_exit(7);
	lim = old;
	bool mlock = strcmp(how, "mlock") == 0, raw = strncmp(how, "raw", 3) == 0;
	if (strcmp(how, "inherited") == 0) {
		if (old.rlim_cur == RLIM_INFINITY)
			_exit(7); /* the test sets one */
	} else if (mlock) {
		/* 4 MiB of memory locked from now on, then no more (without CAP_IPC_LOCK). */
		struct rlimit ml;
		if (getrlimit(RLIMIT_MEMLOCK, &ml) != 0)
			_exit(7);
		if (ml.rlim_max < (1u << 20))
			_exit(77); /* too little to fill a heap with */
		ml.rlim_cur = 4u << 20;
		if (ml.rlim_max < ml.rlim_cur)
			ml.rlim_cur = ml.rlim_max;
		if (setrlimit(RLIMIT_MEMLOCK, &ml) != 0 || mlockall(MCL_FUTURE) != 0)
			_exit(7);
	} else {
		unsigned long vm = vm_bytes();
		if (vm == 0)
			_exit(7);
		lim.rlim_cur = vm + (4u << 20);
		if (strcmp(how, "set") == 0 ? setrlimit(RLIMIT_AS, &lim) != 0
					    : syscall(SYS_prlimit64, 0, RLIMIT_AS, &lim, NULL) != 0)
			_exit(7);
	}
	unsigned long bytes = 0, k = 0, failed = 0;
	*calls = 0;
	for (;;) {
		if (k == sizeof(kept) / sizeof(kept[0]))
			_exit(9); /* the limit did not bite */
		void *p = malloc(4096);
		if (!p) {
			if (!raw)
				errno = 0;
			break;
		}
		kept[k++] = p;
		bytes += 4096;
		++*calls;
	}
	/* Not with the raw limit: its failures would be seen here, before the part below that
	 * tests what a success in between hides. */
	for (int round = 0; round < 50 && !raw; round++) {
		for (int i = 0; i < 2000; i++) {
			void *p = malloc(32);
			if (p && k < sizeof(kept) / sizeof(kept[0])) {
				kept[k++] = p;
				bytes += 32;
				++*calls;
			} else if (p) {
				_exit(9);
			} else {
				failed++;
				errno = 0; /* not raw: see the loop */
			}
		}
		free(kept[--k]);
		void *p = malloc(4000);
		if (p) {
			kept[k++] = p;
			bytes += 4000;
			++*calls;
		}
	}
	/* Then one success and one failure, 20000 times: a free makes room for one block of 32
	 * bytes, the next request fails. Whether the fast path's budget runs out on a success or
	 * on a failure depends on the parity of the calls before: `-odd` adds one success. */
	static void *pool[1000];
	unsigned np = 0;
	free(kept[--k]);
	for (void *p; np < 1000 && (p = malloc(32)) != NULL;) {
		pool[np++] = p;
		bytes += 32;
		++*calls;
	}
	if (np == 0 || np == 1000)
		_exit(9);
	if (!raw)
		errno = 0;
	if (strstr(how, "-odd")) {
		free(pool[0]);
		if ((pool[0] = malloc(32)) == NULL)
			_exit(9);
		bytes += 32;
		++*calls;
	}
	unsigned long failed2 = 0;
	for (unsigned i = 0; i < 20000; i++) {
		unsigned j = i % np;
		free(pool[j]);
		pool[j] = malloc(32);
		if (!pool[j])
			_exit(9); /* the block just freed is there to be had */
		bytes += 32;
		++*calls;
		void *q = malloc(32);
		if (q) {
			free(q);
			bytes += 32;
			++*calls;
		} else {
			failed2++;
			if (!raw)
				errno = 0; /* the shim must know of the limit without it */
		}
	}
	while (np)
		free(pool[--np]);
	if (failed2 < 10000)
		_exit(8);
	lim.rlim_cur = old.rlim_max;
	if (setrlimit(RLIMIT_AS, &lim) != 0)
		_exit(7);
	while (k)
		free(kept[--k]);
	if (mlock && munlockall() != 0)
		_exit(7);
	if (failed < 50000 && !raw)
		_exit(8); /* the small blocks did not fail: nothing tested */
	return bytes;
}

/* The truth, in decimal with write(2): no allocation of its own. */
static void put_truth(unsigned long v)
{
	char buf[32];
	int n = 0;
	char tmp[32];
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\n';
	if (write(1, buf, (size_t)n + 1) < 0)
		_exit(4);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "exit";
	unsigned long total = 0;
	pthread_t th[16];

	if (strcmp(mode, "exit") == 0) {
		total += churn(30000, 99);
		for (long i = 0; i < 8; i++) { /* one after another: records reused */
			if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
				return 2;
			pthread_join(th[i], NULL);
			total += thread_bytes[i];
		}
		for (long i = 8; i < 12; i++)
			if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
				return 2;
		for (long i = 8; i < 12; i++) {
			pthread_join(th[i], NULL);
			total += thread_bytes[i];
		}
		total += churn(10000, 7);
	} else if (strcmp(mode, "snap") == 0) {
		for (long i = 0; i < 2; i++)
			if (pthread_create(&th[i], NULL, snap_worker, (void *)i) != 0)
				return 2;
		for (int k = 0; k < 40; k++) {
			unsigned long seen = progress;
			for (int w = 0; w < 5000 && progress == seen; w++)
				usleep(1000);
			if (MAPPROF_DUMP() < 0)
				return 5;
		}
		snap_stop = 1;
		for (long i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			total += thread_bytes[i];
		}
	} else if (strcmp(mode, "fork") == 0) {
		total += churn(30000, 5);
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			unsigned long c = churn(25000, 11);
			put_truth(c);
			exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 6;
	} else if (strcmp(mode, "small") == 0 && argc > 2) {
		unsigned long calls;
		total = small_mode(argv[2], &calls);
		put_truth(total);
		put_truth(calls);
		return 0;
	} else if (strcmp(mode, "fail") == 0) {
		unsigned long calls;
		total = fail_mode(&calls);
		put_truth(total);
		put_truth(calls);
		return 0;
	} else {
		return 2;
	}
	put_truth(total);
	return 0;
}
