// SPDX-License-Identifier: MIT
// reuse on a pool (tests/integration/churn.sh): 4 threads each run 300 tasks, and every task
// makes and drops a std::unordered_map at one line (SITE). One map hoisted out of the task would
// be shared by the threads: the reuse suggestion must say one per thread. Each thread's first
// task waits for the others with its map alive, so exactly 4 are alive at once at most. Prints
// "pool instances N".
#include <pthread.h>
#include <cstdio>
#include <unordered_map>

#define THREADS 4
#define TASKS	300

static pthread_barrier_t together;

static long task(int t)
{
	std::unordered_map<int, int> m; /* SITE */
	for (int k = 0; k < 10; k++)
		m[k * 7 + t] = k;
	if (t == 0)
		pthread_barrier_wait(&together); /* the 4 threads' first maps alive at once */
	return (long)m.size();
}

static void *worker(void *)
{
	long sum = 0;
	for (int t = 0; t < TASKS; t++)
		sum += task(t);
	return (void *)sum;
}

int main()
{
	pthread_t th[THREADS];
	pthread_barrier_init(&together, nullptr, THREADS);
	for (auto &t : th)
		pthread_create(&t, nullptr, worker, nullptr);
	long sum = 0;
	for (auto &t : th) {
		void *r;
		pthread_join(t, &r);
		sum += (long)r;
	}
	std::printf("pool instances %d sum %ld\n", THREADS * TASKS, sum);
	return 0;
}
