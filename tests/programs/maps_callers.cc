// SPDX-License-Identifier: MIT
// One line that makes maps for many callers (tests/integration/maps.sh): parse() is called by
// twelve handlers, one request at a time, so at most one of its maps is ever alive, though
// each handler is a site of its own (another stack). nest() makes a map at one line and keeps
// it while it recurses: six alive at once, each depth another stack too. Prints the truth.
// Built -O1 and -O0 (maps_callers_O0).
#include <cstdio>
#include <unordered_map>

#define NOINLINE __attribute__((noinline))

static int alive, most_parse, most_nest;

NOINLINE static long parse(int r)
{
	std::unordered_map<int, int> m; // PARSE_LINE
	if (++alive > most_parse)
		most_parse = alive;
	for (int i = 0; i < 40; i++)
		m.emplace(i * 7 + r, i); /* at -O0 this line is the stack's fifth frame */
	long n = (long)m.size();
	alive--;
	return n;
}

#define HANDLER(k)                                                                                 \
	NOINLINE static long handler##k(int r)                                                     \
	{                                                                                          \
		return parse(r + k) + k;                                                           \
	}
HANDLER(0)
HANDLER(1)
HANDLER(2)
HANDLER(3)
HANDLER(4)
HANDLER(5)
HANDLER(6)
HANDLER(7)
HANDLER(8)
HANDLER(9)
HANDLER(10)
HANDLER(11)
static long (*const handlers[])(int) = {handler0, handler1, handler2,  handler3,
					handler4, handler5, handler6,  handler7,
					handler8, handler9, handler10, handler11};

NOINLINE static long nest(int depth)
{
	std::unordered_map<int, int> m; // NEST_LINE
	if (++alive > most_nest)
		most_nest = alive;
	for (int i = 0; i < 30; i++)
		m[i] = depth;
	long n = (long)m.size() + (depth > 0 ? nest(depth - 1) : 0);
	alive--;
	return n;
}

int main()
{
	long s = 0;
	for (int r = 0; r < 120; r++)
		s += handlers[r % 12](r);
	int parse_most = most_parse;
	alive = 0;
	for (int r = 0; r < 10; r++)
		s += nest(5);
	std::printf("parse instances 120 most_alive %d\n", parse_most);
	std::printf("nest instances 60 most_alive %d\n", most_nest);
	std::printf("checksum %ld\n", s);
	return 0;
}
