// SPDX-License-Identifier: MIT
// The public API's MAPPROF_DUMP() in initializers outside any function (tests/integration/
// maps.sh, built also as a non-PIE executable): a namespace-scope variable and a default
// member initializer. The macros were statement expressions in non-PIE code, which C++ allows
// only in function bodies: this did not compile. Prints "early E member M" (-1 without the
// shim, 0 with it: the dump was written).
#include <cstdio>
#include "mapprof.h"

static int early = MAPPROF_DUMP();

struct holder {
	int member = MAPPROF_DUMP();
};

int main()
{
	holder h;
	std::printf("early %d member %d\n", early, h.member);
	return 0;
}
