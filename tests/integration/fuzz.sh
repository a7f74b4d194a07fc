#!/bin/bash
# SPDX-License-Identifier: MIT
# The dump parser's fuzz target, briefly: builds it, replays every saved regression input,
# fuzzes for FUZZ_CHECK_SECONDS (default 10) from the generated seeds. `make fuzz` runs longer.
. "$(dirname "$0")/lib.sh"

if ! command -v clang >/dev/null; then
	ok "fuzz target # SKIP clang not installed"
	exit 0
fi
if out=$(BUILD=$BUILD scripts/fuzz.sh --replay 2>&1); then
	ok "fuzz regressions replay without a failure"
else
	not_ok "fuzz regressions replay without a failure" "$(echo "$out" | tail -20)"
fi
if out=$(BUILD=$BUILD scripts/fuzz.sh "${FUZZ_CHECK_SECONDS:-10}" 2>&1); then
	ok "fuzz dump parser for ${FUZZ_CHECK_SECONDS:-10}s"
else
	not_ok "fuzz dump parser for ${FUZZ_CHECK_SECONDS:-10}s" "$(echo "$out" | tail -20)"
fi
