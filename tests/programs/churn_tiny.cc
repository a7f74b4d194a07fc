// SPDX-License-Identifier: MIT
// tiny (tests/integration/churn.sh): one small std::unordered_map of attributes per connection,
// all connections alive at once (so this is not reuse); 19 connections in 20 have at most 4
// attributes, every 20th has 20. Built with -DFIXED, a connection keeps up to 4 attributes in a
// flat array and moves them into a map only when a fifth arrives (a small-size optimization):
// the site then makes only the large maps, and tiny must not fire. Prints
// "add_attr instances N grows G explicit 0 max M grow_bytes B tiny T".
#include <cstdio>
#include <unordered_map>
#include <vector>
#include "churn_common.h"

#define CONNS 2000

struct conn {
	int nflat = 0;
	std::pair<int, int> flat[4];
	std::unordered_map<int, int> attrs;
};

static unsigned instances, grows;
static size_t grow_bytes;

extern "C" __attribute__((noinline)) void add_attr(conn &c, int key, int value)
{
#ifdef FIXED
	if (c.attrs.empty() && c.nflat < 4) {
		c.flat[c.nflat++] = {key, value};
		return;
	}
	for (; c.nflat > 0; c.nflat--) { // spill the array into the map
		const std::pair<int, int> &kv = c.flat[c.nflat - 1];
		size_t b = c.attrs.bucket_count();
		c.attrs.emplace(kv.first, kv.second); /* SITE_FIXED */
		if (c.attrs.bucket_count() != b) {
			grows++;
			grow_bytes += c.attrs.bucket_count() * sizeof(void *);
			instances += b == 1;
		}
	}
#endif
	size_t b = c.attrs.bucket_count();
	c.attrs.emplace(key, value); /* SITE */
	if (c.attrs.bucket_count() != b) {
		grows++;
		grow_bytes += c.attrs.bucket_count() * sizeof(void *);
		instances += b == 1;
	}
}

int main()
{
	other_work(8 << 20, 100);
	std::vector<conn> conns(CONNS);
	for (int i = 0; i < CONNS; i++) {
		int n = i % 20 == 19 ? 20 : 1 + i % 4;
		for (int a = 0; a < n; a++)
			add_attr(conns[i], a, i + a);
	}
	long sum = 0;
	unsigned tiny = 0; // maps that never held more than 4 elements
	for (auto &c : conns) {
		sum += c.nflat + (long)c.attrs.size();
		tiny += !c.attrs.empty() && c.attrs.size() <= 4;
	}
	conns.clear();
	std::printf("add_attr instances %u grows %u explicit 0 max 20 grow_bytes %zu tiny %u\n",
		    instances, grows, grow_bytes, tiny);
	std::printf("checksum %ld\n", sum);
	return 0;
}
