// SPDX-License-Identifier: MIT
/* Inlined functions whose DWARF has no linkage name, for tests/integration/report_e2e.sh. GCC
 * writes none for a function of internal linkage (here: an anonymous namespace), so both make
 * methods were named "make" wherever they were inlined: one function in a profile. Known
 * counts, all kept:
 *   (anonymous namespace)::Alpha::make      3 x malloc(100)  inlined in use_alpha
 *   (anonymous namespace)::Beta::make       7 x malloc(200)  inlined in use_beta
 *   outer::(anonymous namespace)::fill      5 x malloc(30)   inlined in use_fill
 *   alpha::f::Loc::make, beta::f::Loc::make  4 and 6 x malloc(40): local classes, whose
 *                                            scopes go through their function's declaration
 *   A::g::{lambda at line L}::operator()  2 x malloc(10): a lambda in a method (its
 *   B::g::{lambda at line L}::operator()  5 x malloc(20)  closure type has no name:
 *   B::g::{lambda at line L}::operator()  3 x malloc(24)  its line tells two apart)
 *   gamma::f::{unnamed type at line L}::make  8 x malloc(48): an unnamed struct's method
 */
#include <cstdlib>

#define INLINE inline __attribute__((always_inline))

namespace
{
struct Alpha {
	INLINE void *make(int n)
	{
		return malloc(n);
	}
};
struct Beta {
	INLINE void *make(int n) const
	{
		return malloc(n);
	}
};
} // namespace

namespace outer
{
namespace
{
INLINE void *fill(int n)
{
	return malloc(n);
}
} // namespace
} // namespace outer

static void *keep[64];
static int k;
void *volatile sink;

namespace alpha
{
__attribute__((noinline)) void f()
{
	struct Loc {
		INLINE void *make(int n)
		{
			return malloc(n);
		}
	};
	for (int i = 0; i < 4; i++)
		keep[k++] = Loc().make(40);
}
} // namespace alpha

namespace beta
{
__attribute__((noinline)) void f()
{
	struct Loc {
		INLINE void *make(int n)
		{
			return malloc(n);
		}
	};
	for (int i = 0; i < 6; i++)
		keep[k++] = Loc().make(40);
}
} // namespace beta

namespace gamma
{
__attribute__((noinline)) void f()
{
	struct {
		INLINE void *make(int n)
		{
			return malloc(n);
		}
	} u;
	for (int i = 0; i < 8; i++)
		keep[k++] = u.make(48);
}
} // namespace gamma

struct A {
	__attribute__((noinline)) void g();
};
struct B {
	__attribute__((noinline)) void g();
};

void A::g()
{
	auto l = [](int n) __attribute__((always_inline))
	{
		return malloc(n);
	};
	for (int i = 0; i < 2; i++)
		keep[k++] = l(10);
}

void B::g()
{
	auto l = [](int n) __attribute__((always_inline))
	{
		return malloc(n);
	};
	for (int i = 0; i < 5; i++)
		keep[k++] = l(20);
	auto l2 = [](int n) __attribute__((always_inline))
	{
		return malloc(n);
	};
	for (int i = 0; i < 3; i++)
		keep[k++] = l2(24);
}

__attribute__((noinline)) void use_alpha()
{
	Alpha a;
	for (int i = 0; i < 3; i++)
		keep[k++] = a.make(100);
}

__attribute__((noinline)) void use_beta()
{
	const Beta b{};
	for (int i = 0; i < 7; i++)
		keep[k++] = b.make(200);
}

__attribute__((noinline)) void use_fill()
{
	for (int i = 0; i < 5; i++)
		keep[k++] = outer::fill(30);
}

int main()
{
	use_alpha();
	use_beta();
	use_fill();
	alpha::f();
	beta::f();
	gamma::f();
	A().g();
	B().g();
	sink = keep[0];
	return 0;
}
