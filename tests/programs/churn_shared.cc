// SPDX-License-Identifier: MIT
// shared (tests/integration/churn.sh): one std::unordered_map grown by two threads that take
// turns under a mutex; each turn doubles the map, so each turn grows it and both threads do.
// Built with -DFIXED, each thread fills a map of its own (one map per thread, merged by the
// reader): no instance is grown from two threads, and shared must not fire. Prints
// "fill_turn instances N grows G explicit 0 max M grow_bytes B threads T".
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>
#include "churn_common.h"

#define TURNS 14 // the map reaches 2^TURNS elements

static std::mutex mu;
static std::condition_variable cv;
static int turn; // whose turn: thread turn % 2, guarded by mu
static unsigned instances, grows;
static bool grown_by[3][2]; // [map: the shared one, own[0], own[1]][thread]
static std::unordered_map<long, long> shared_map, own[2];
static size_t grow_bytes, max_elems;

extern "C" __attribute__((noinline)) void fill_turn(std::unordered_map<long, long> &m, long from,
						    long to, int self)
{
	for (long k = from; k < to; k++) {
		size_t b = m.bucket_count();
		m.emplace(k, k); /* SITE */
		if (m.bucket_count() != b) {
			grows++;
			grown_by[&m == &shared_map ? 0 : &m == &own[0] ? 1 : 2][self] = true;
			grow_bytes += m.bucket_count() * sizeof(void *);
			instances += b == 1;
		}
	}
	if (m.size() > max_elems)
		max_elems = m.size();
}

static void worker(int self)
{
	for (int t = self; t < TURNS; t += 2) {
		std::unique_lock<std::mutex> lock(mu);
		cv.wait(lock, [&] { return turn == t; });
		long from = t ? 1L << (t - 1) : 0, to = 1L << t;
#ifdef FIXED
		lock.unlock(); // nothing shared to protect: the thread's own map
		fill_turn(own[self], from, to, self);
		lock.lock();
#else
		fill_turn(shared_map, from, to, self);
#endif
		turn++;
		cv.notify_all();
	}
}

int main()
{
	other_work(8 << 20, 100);
	std::thread a(worker, 0), b(worker, 1);
	a.join();
	b.join();
	long sum = (long)(shared_map.size() + own[0].size() + own[1].size());
	unsigned threads = 0; // the most threads that grew one map: 2 shared, else 1 (own maps)
	for (auto &by : grown_by)
		threads = std::max(threads, (unsigned)by[0] + (unsigned)by[1]);
	std::printf(
	    "fill_turn instances %u grows %u explicit 0 max %zu grow_bytes %zu threads %u\n",
	    instances, grows, max_elems, grow_bytes, threads);
	std::printf("checksum %ld\n", sum);
	return 0;
}
