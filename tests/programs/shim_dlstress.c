/* SPDX-License-Identifier: MIT */
/* dlopen/dlclose under load (tests/integration/shim_life.sh), with the libraries built from
 * shim_dl.c: dl_work makes 40 x malloc(300) in dl_site (A) or 40 x malloc(301) in dl_site_b (B),
 * dl_release frees them.
 *   shim_dlstress race A B C N   a thread opens and closes C in a loop while main opens A, works,
 *                                closes it, then B, N times: each close tracked once
 *   shim_dlstress move A N       A opened, worked, closed N times, with an anonymous mapping
 *                                made after each close so that A lands somewhere new each time
 *   shim_dlstress ctor A CTOR    A opened; a thread opens CTOR, whose constructor (under the
 *                                loader's lock) closes a library; main closes A meanwhile
 * Prints "dlstress ok". */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile int done;
static const char *lib_c;

/* Opens, works, releases, closes; *base: where the library's first page was. */
static int cycle(const char *path, void **base)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	int (*work)(void) = (int (*)(void))dlsym(h, "dl_work");
	void (*release)(void) = (void (*)(void))dlsym(h, "dl_release");
	Dl_info info;
	if (!work || !release || !dladdr((void *)work, &info) || work() != 0)
		return -1;
	*base = info.dli_fbase;
	release();
	return dlclose(h);
}

static void *open_ctor(void *arg)
{
	return dlopen((const char *)arg, RTLD_NOW | RTLD_LOCAL);
}

static void *closer(void *arg)
{
	(void)arg;
	while (!done) {
		void *h = dlopen(lib_c, RTLD_NOW | RTLD_LOCAL);
		if (h)
			dlclose(h);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "race")) {
		lib_c = argv[4];
		pthread_t t;
		if (pthread_create(&t, NULL, closer, NULL))
			return 2;
		void *base;
		for (int i = 0, n = atoi(argv[5]); i < n; i++)
			if (cycle(argv[2], &base) || cycle(argv[3], &base))
				return 3;
		done = 1;
		pthread_join(t, NULL);
	} else if (argc == 4 && !strcmp(argv[1], "move")) {
		for (int i = 0, n = atoi(argv[3]); i < n; i++) {
			void *base;
			if (cycle(argv[2], &base))
				return 3;
			/* a page where the library began: the next load must go elsewhere */
			if (mmap(base, 4096, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
				 0) == MAP_FAILED)
				return 4;
		}
	} else if (argc == 4 && !strcmp(argv[1], "ctor")) {
		void *a = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
		pthread_t t;
		if (!a || pthread_create(&t, NULL, open_ctor, argv[3]))
			return 2;
		usleep(100000); /* the constructor is running, under the loader's lock */
		dlclose(a);
		void *c;
		pthread_join(t, &c);
		if (!c)
			return 3;
	} else {
		fprintf(stderr, "usage: shim_dlstress race A B C N | move A N | ctor A CTOR\n");
		return 1;
	}
	printf("dlstress ok\n");
	return 0;
}
