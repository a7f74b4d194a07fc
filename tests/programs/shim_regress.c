/* SPDX-License-Identifier: MIT */
/* Review regressions. "realloc": a sampled block whose realloc fails stays in use. "freeonly":
 * a thread that only frees is counted as a thread and its frees are exact. "oom": mallocs of
 * 64 KiB under an address-space limit until they fail, then 20 more failures; "oom N": the same
 * N successful mallocs without a limit. Both dumps must hold the same totals: a failed malloc
 * is not an allocation (the fast path counts before the call and must take it back).
 * "getattr": pthread_getattr_np on a new thread and on main, whose allocations are the threads'
 * first (it holds the thread's lock while it allocates: the shim must not call it then). */
#include <errno.h>
#include <sys/resource.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile keep;
static void *blocks[1000];

__attribute__((noinline)) static void *realloc_site(void)
{
	return malloc(4096);
}

static void *freer(void *arg)
{
	for (int i = 0; i < 1000; i++)
		free(blocks[i]);
	return NULL;
}

static void *getattr_self(void *arg)
{
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0)
		pthread_attr_destroy(&a);
	return arg;
}

static void *oom_blocks[1 << 16];

static int oom(long want)
{
	struct rlimit old;
	getrlimit(RLIMIT_AS, &old);
	unsigned long pages = 0; /* read in both modes: the same allocations */
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%lu", &pages) != 1)
		return 2;
	fclose(f);
	if (want < 0) {
		struct rlimit lim = old;
		lim.rlim_cur = pages * 4096 + (48ul << 20);
		if (setrlimit(RLIMIT_AS, &lim) != 0)
			return 2;
	}
	long n = 0, failed = 0;
	while (n < (long)(sizeof(oom_blocks) / sizeof(oom_blocks[0])) && (want < 0 || n < want)) {
		void *p = malloc(65536);
		if (p == NULL) {
			if (++failed == 21)
				break;
			continue;
		}
		oom_blocks[n++] = p;
	}
	setrlimit(RLIMIT_AS, &old);
	for (long i = 0; i < n; i++)
		free(oom_blocks[i]);
	printf("blocks %ld%s\n", n, want < 0 && failed < 21 ? " (never failed)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "getattr")) {
		pthread_t th;
		pthread_create(&th, NULL, getattr_self, NULL);
		pthread_join(th, NULL);
		getattr_self(NULL);
		printf("getattr done\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "efault")) {
		/* A bad pointer is the kernel's to refuse (EFAULT), as LTP's setrlimit02 checks. */
		const void *bad = (const void *)-1;
		struct rlimit old;
		int a = setrlimit(RLIMIT_NOFILE, bad) == -1 && errno == EFAULT;
		int b = setrlimit(RLIMIT_AS, bad) == -1 && errno == EFAULT;
		int c = prlimit(0, RLIMIT_DATA, bad, &old) == -1 && errno == EFAULT;
		int d = prlimit(0, RLIMIT_AS, NULL, (struct rlimit *)-1) == -1 && errno == EFAULT;
		printf("efault %d %d %d %d\n", a, b, c, d);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "oom"))
		return oom(argc > 2 ? atol(argv[2]) : -1);
	if (argc > 1 && !strcmp(argv[1], "realloc")) {
		void *p = realloc_site();
		keep = p; /* kept before: after a failed realloc p stays valid, but the compiler
			   * cannot know it failed */
		volatile size_t huge = SIZE_MAX - 4096;
		void *q = realloc(p, huge); /* fails: p stays valid */
		printf("realloc %s\n", q == NULL ? "failed" : "succeeded");
		return 0;
	}
	for (int i = 0; i < 1000; i++)
		blocks[i] = malloc(32);
	pthread_t th;
	pthread_create(&th, NULL, freer, NULL);
	pthread_join(th, NULL);
	printf("freed\n");
	return 0;
}
