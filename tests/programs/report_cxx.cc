// SPDX-License-Identifier: MIT
/* C++ names for the analyzer's demangling test (tests/integration/report_e2e.sh): allocations
 * through operator new from a namespaced member function and a function template, with known
 * counts. shapes::Widget is 40 bytes, so make(2) allocates 80 bytes.
 *   shapes::Widget::make(int)         30 x new Widget[2]   alloc 30/2400, kept
 *   make_many<double>(unsigned long)  12 x new double[4]   alloc 12/384, kept
 *   parse_all()'s lambda               7 x new char[24]     alloc 7/168, kept
 *   render_all()'s lambda              5 x new char[56]     alloc 5/280, kept
 * The lambdas' DWARF names are both "operator()": the report must tell them apart.
 */
#include <cstddef>

namespace shapes
{
struct Widget {
	int a[10];
	static Widget *make(int n);
};

__attribute__((noinline)) Widget *Widget::make(int n)
{
	return new Widget[n];
}
} // namespace shapes

template <typename T> __attribute__((noinline)) T *make_many(std::size_t n)
{
	return new T[n];
}

static void *keep[64];
void *volatile sink;
static int k;

__attribute__((noinline)) void parse_all()
{
	auto f = [](int i) __attribute__((noinline))
	{
		keep[i] = new char[24];
	};
	for (int i = 0; i < 7; i++)
		f(k++);
}

__attribute__((noinline)) void render_all()
{
	auto g = [](int i) __attribute__((noinline))
	{
		keep[i] = new char[56];
	};
	for (int i = 0; i < 5; i++)
		g(k++);
}

int main()
{
	for (int i = 0; i < 30; i++)
		keep[k++] = shapes::Widget::make(2);
	for (int i = 0; i < 12; i++)
		keep[k++] = make_many<double>(4);
	parse_all();
	render_all();
	sink = keep[0];
	return 0;
}
