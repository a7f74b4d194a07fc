// SPDX-License-Identifier: MIT
// A Go program with cgo (tests/integration/report_e2e.sh): Go frames above C allocations must
// be named with their Go files and lines (the unwind ends at runtime.asmcgocall, where cgo
// switches stacks). 100 x malloc(64) in churn, through work(); Go ends with a raw exit_group
// (no libc exit, no exit dump), so the program dumps itself.
package main

// #cgo CFLAGS: -I../../../include
// #include <stdlib.h>
// #include "mapprof.h"
// void *volatile sink;
// static void churn(int n) { for (int i = 0; i < n; i++) sink = malloc(64); }
// static void dump(void) { MAPPROF_DUMP(); }
import "C"
import "fmt"

//go:noinline
func work() {
	C.churn(100)
}

func main() {
	work()
	C.dump()
	fmt.Println("go done")
}
