/* SPDX-License-Identifier: MIT */
/* Fork children made while another thread is inside initgroups (tests/integration/
 * shim_config.sh). The shim stops its dump thread around credential calls and starts it again
 * after; a child forked meanwhile had no dump thread of its own, so no MAPPROF_INTERVAL dumps.
 * One thread calls initgroups in a loop (its NSS lookup makes the window wide; as a user other
 * than root it fails, after the lookup); the main thread forks CHILDREN children that each live
 * 2.2 s and exit normally. Prints "children N". */
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILDREN 12

static volatile int done;

static void *credentials(void *arg)
{
	(void)arg;
	struct passwd *pw = getpwuid(getuid());
	const char *name = pw ? pw->pw_name : "root";
	while (!done)
		(void)initgroups(name, getgid());
	return NULL;
}

int main(void)
{
	free(malloc(64));
	pthread_t t;
	if (pthread_create(&t, NULL, credentials, NULL) != 0)
		return 2;
	struct timespec gap = {0, 20 * 1000 * 1000}, life = {2, 200 * 1000 * 1000};
	pid_t kids[CHILDREN];
	for (int i = 0; i < CHILDREN; i++) {
		nanosleep(&gap, NULL);
		kids[i] = fork();
		if (kids[i] == 0) {
			free(malloc(32));
			nanosleep(&life, NULL);
			exit(0);
		}
	}
	done = 1;
	pthread_join(t, NULL);
	int ok = 0;
	for (int i = 0; i < CHILDREN; i++) {
		int st;
		ok += kids[i] > 0 && waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0;
	}
	printf("children %d\n", ok);
	return ok == CHILDREN ? 0 : 1;
}
