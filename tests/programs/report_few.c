// SPDX-License-Identifier: MIT
/* Few small objects, all kept: 100 x malloc(64), 6400 bytes. At a rate far above that, a seed
 * that samples one estimates thousands of times more in use than was allocated
 * (report_cli.sh: the --top header says why). */
#include <stdlib.h>

void *volatile keep[100];

int main(void)
{
	for (int i = 0; i < 100; i++)
		keep[i] = malloc(64);
	return 0;
}
