#!/bin/bash
# Install what is missing, build, and run every test suite:
#   unit tests (cmocka) and end-to-end tests (pytest + scapy on pcap ports), each also
#   against an ASan+UBSan build.
# Ends with one line "N passed, N failed" over all suites; exits non-zero on a failure.
set -u
cd "$(dirname "$0")/../.."
test/tools/install-deps.sh --tests || exit 1

passed=0
failed=0
count_cmocka() { # LOG: add cmocka's per-group PASSED/FAILED counts
	local p f
	p=$(grep -ho '^\[  PASSED  \] [0-9]*' "$1" | awk '{s += $4} END {print s + 0}')
	f=$(grep -ho '^\[  FAILED  \] [0-9]*' "$1" | awk '{s += $4} END {print s + 0}')
	passed=$((passed + p))
	failed=$((failed + f))
	echo "$2: $p passed, $f failed"
}
build() { # DIR [meson options]: configure (again) and build
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" -Dtests=enabled "$@" >/dev/null
	else
		meson setup "$dir" -Dtests=enabled "$@" >/dev/null
	fi && ninja -C "$dir" >/dev/null
}
unit() { # DIR NAME: run the cmocka programs, count their cases
	local rc
	meson test -C "$1" --no-rebuild --print-errorlogs >"$1/unit.log" 2>&1
	rc=$?
	count_cmocka "$1/meson-logs/testlog.txt" "$2"
	# A program that crashed before printing its summary still counts as a failure.
	if [ $rc -ne 0 ] && ! grep -q '^\[  FAILED  \]' "$1/meson-logs/testlog.txt"; then
		failed=$((failed + 1))
		cat "$1/unit.log"
	fi
}

if build build; then
	unit build "unit"
else
	echo "build failed"; failed=$((failed + 1))
fi
if build build-asan -Dbuildtype=debug -Db_lto=false -Db_sanitize=address,undefined -Db_lundef=false; then
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		unit build-asan "unit (ASan+UBSan)"
else
	echo "sanitizer build failed"; failed=$((failed + 1))
fi

pytest_suite() { # BUILD NAME DIR: a pytest suite against BUILD's dpfwd
	local log=$1/$3.log p f x
	DPFWD_BIN=$1/app/dpfwd/dpfwd /usr/bin/python3 -m pytest -q -rsx -p no:cacheprovider \
		"test/$3" 2>&1 | tee "$log"
	p=$(tail -n 3 "$log" | grep -o '[0-9]* passed' | awk '{print $1}')
	f=$(tail -n 3 "$log" | grep -oE '[0-9]+ (failed|error)' | awk '{s += $1} END {print s + 0}')
	# Ran nothing: fine only for a suite that said why it skipped (no namespaces here).
	[ -z "$p" ] && [ "$f" -eq 0 ] && ! grep -q " skipped" "$log" && f=1
	# Expected failures (known bugs, xfail strict) count neither way; an unexpected pass
	# of a strict one is reported by pytest as failed.
	x=$(tail -n 3 "$log" | grep -oE '[0-9]+ xfailed' | awk '{print $1}')
	passed=$((passed + ${p:-0}))
	failed=$((failed + f))
	echo "$2: ${p:-0} passed, $f failed${x:+ ($x expected failures: known bugs)}"
}

[ -x build/app/dpfwd/dpfwd ] && pytest_suite build "e2e" e2e
# The same packets through a dpfwd built with ASan+UBSan: any memory error or undefined
# behaviour on the packet path or the slow path aborts it, and the test fails.
[ -x build-asan/app/dpfwd/dpfwd ] && ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 pytest_suite build-asan "e2e (ASan+UBSan)" e2e
# Real Linux hosts in network namespaces, through tap ports (root; skips with the reason
# where namespaces cannot be made).
[ -x build/app/dpfwd/dpfwd ] && pytest_suite build "real hosts" netns

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
