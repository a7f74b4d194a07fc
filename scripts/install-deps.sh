#!/bin/sh
# SPDX-License-Identifier: MIT
# Idempotent dependency installer for Debian 12: installs only the packages that are missing,
# prints what it installs, works as root or through sudo. Usage: scripts/install-deps.sh [--bench]
set -eu

PKGS="build-essential pkg-config libunwind-dev libjemalloc-dev libjemalloc2 libtcmalloc-minimal4 uthash-dev
libdw-dev libelf-dev libiberty-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev libcmocka-dev
golang-go clang libclang-rt-14-dev clang-format g++ python3 perl sqlite3 strace"
# The benchmark compares against heaptrack and counts instructions with valgrind; only
# install them when asked.
if [ "${1:-}" = "--bench" ]; then
	PKGS="$PKGS heaptrack valgrind"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing packages:$missing; run as root or install sudo" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
