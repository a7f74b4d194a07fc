// SPDX-License-Identifier: MIT
// Elements inserted by a thread that did not grow the map last (tests/integration/maps.sh).
// Only the thread that grew a map counted its later inserts, so:
//   handoff   300 maps get one element (one grow, to 13 buckets) on main, are moved through a
//             queue to a consumer thread that adds 11 more (no grow there) and destroys them:
//             reported as never holding more than 1 element ("tiny")
//   shared    a map grown to 600 elements by one thread, then filled to 1100 (no grow) by
//             another that never grew a map
//   turns     a map filled to 600 by thread A, to 1200 by thread B (which grows it last), then
//             to 2000 by A again (no grow), both alive at the exit dump: A's last inserts were
//             counted by A alone and never reached the dump
//   relay     20 maps grown on main, then grown further on a new thread each: handed on, not
//             shared (they drew the shared verdict)
//   pingpong  20 maps grown on main, on a new thread, then on main again: threads in turn
// Prints "NAME max" for each: the most elements each site's maps held (the map's own size()).
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unistd.h>

typedef std::unordered_map<int, int> map_t;

static std::mutex mu;
static std::condition_variable cv;
static std::deque<map_t> queue;
static bool done;

__attribute__((noinline)) static void handoff_start(map_t &m, int k)
{
	m[k] = k;
}

static size_t handoff(void)
{
	size_t most = 0;
	std::thread consumer([&most] {
		for (;;) {
			std::unique_lock<std::mutex> l(mu);
			cv.wait(l, [] { return done || !queue.empty(); });
			if (queue.empty())
				return;
			map_t m = std::move(queue.front());
			queue.pop_front();
			l.unlock();
			for (int i = 0; i < 11; i++)
				m[-1 - i] = i;
			most = m.size() > most ? m.size() : most;
		}
	});
	for (int k = 0; k < 300; k++) {
		map_t m;
		handoff_start(m, k);
		std::lock_guard<std::mutex> l(mu);
		queue.push_back(std::move(m));
		cv.notify_one();
	}
	{
		std::lock_guard<std::mutex> l(mu);
		done = true;
	}
	cv.notify_all();
	consumer.join();
	return most;
}

__attribute__((noinline)) static void shared_fill(map_t *m, int from, int to)
{
	for (int i = from; i < to; i++)
		(*m)[i] = i;
}

static size_t shared(void)
{
	static map_t m;
	std::thread a([] { shared_fill(&m, 0, 600); });
	a.join();
	std::thread b([] {
		for (int i = 600; i < 1100; i++)
			m[i] = i;
	});
	b.join();
	return m.size();
}

// Turns: each step runs on the thread named, in order; both threads stay alive to the end.
static map_t *turns_map;
static int step;
static std::mutex tmu;
static std::condition_variable tcv;

__attribute__((noinline)) static void turns_fill(int from, int to)
{
	for (int i = from; i < to; i++)
		(*turns_map)[i] = i;
}

static void turns_thread(int me)
{
	std::unique_lock<std::mutex> l(tmu);
	for (int s = me; s < 3; s += 2) {
		tcv.wait(l, [s] { return step == s; });
		turns_fill(s == 0 ? 0 : s == 1 ? 600 : 1200, s == 0 ? 600 : s == 1 ? 1200 : 2000);
		step++;
		tcv.notify_all();
	}
	l.unlock();
	for (;;)
		pause(); // alive until exit (a condition variable would hold up its destructor)
}

__attribute__((noinline)) static void relay_fill(map_t &m, int from, int to)
{
	for (int i = from; i < to; i++)
		m[i] = i;
}

__attribute__((noinline)) static void pingpong_fill(map_t &m, int from, int to)
{
	for (int i = from; i < to; i++)
		m[i] = -i; // not relay_fill's code: the two must stay two functions
}

// 20 maps: filled by `fill` on main to a, on a new thread to b, then on main again to c (c > b).
static size_t across(void (*fill)(map_t &, int, int), int a, int b, int c)
{
	size_t most = 0;
	for (int k = 0; k < 20; k++) {
		map_t m;
		fill(m, 0, a);
		std::thread([&m, a, b] {
			for (int i = a; i < b; i++)
				m[i] = i;
		}).join();
		fill(m, b, c);
		most = m.size() > most ? m.size() : most;
	}
	return most;
}

int main()
{
	std::printf("handoff %zu\n", handoff());
	std::printf("shared %zu\n", shared());
	std::printf("relay %zu\n", across(relay_fill, 100, 500, 500));
	std::printf("pingpong %zu\n", across(pingpong_fill, 50, 200, 1000));
	turns_map = new map_t; // leaked: live at the exit dump
	std::thread(turns_thread, 0).detach();
	std::thread(turns_thread, 1).detach();
	{
		std::unique_lock<std::mutex> l(tmu);
		tcv.wait(l, [] { return step == 3; });
	}
	std::printf("turns %zu\n", turns_map->size());
	std::fflush(stdout);
	std::exit(0);
}
