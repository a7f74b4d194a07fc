// SPDX-License-Identifier: MIT
// maps_nested.cc in libstdc++'s debug mode: each container is a std::__debug:: one around a
// std::__cxx1998:: one. The sites are still two at each nested line, named by the containers
// as the program wrote them (tests/integration/churn.sh).
#define _GLIBCXX_DEBUG 1
#include "maps_nested.cc"
