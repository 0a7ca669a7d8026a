#!/usr/bin/env bash
# ASan + UBSan build of the unit and property tests in build-sanitize/, run with
# ctest -L "unit|property|fuzz" (the corpus replay too; labels client, package and audit are
# not run here; the fuzz targets' own sanitized build is ci/fuzz-smoke.sh's). Any sanitizer
# report fails the test that made it.
#
#   bash ci/sanitize.sh                            # GCC
#   CC=clang CXX=clang++ bash ci/sanitize.sh       # clang (a fresh build-sanitize/)
#
# Environment: SANITIZE_RC_PARAMS (max_success=100) RapidCheck settings added to every
# property test's defaults: the sanitizers look for undefined behaviour and memory errors, so
# fewer cases per property than the normal run are enough (set it to "" for the full counts);
# BUILD_JOBS and TEST_JOBS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
flags="$san -O1 -g"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build-sanitize "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O3 -g" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san" \
  -DZEROLR_BUILD_BENCH=OFF -DZEROLR_BUILD_CLIENTS=OFF -DZEROLR_INSTALL=OFF -DZEROLR_BUILD_FUZZ=OFF \
  "-DZEROLR_RC_PARAMS=${SANITIZE_RC_PARAMS-max_success=100}" >/dev/null
# zerolr_alloc_tests replaces malloc and operator new to count allocations, which cannot
# coexist with ASan's allocator (it segfaults at test discovery): every other target is built,
# and ctest skips it.
skip='zerolr_alloc_tests'
mapfile -t targets < <(cmake --build build-sanitize --target help | sed -n 's/^\([A-Za-z0-9_.+-]*\): phony$/\1/p' |
  grep -vxE "all|clean|help|test|install|install/local|install/strip|edit_cache|rebuild_cache|list_install_components|$skip")
cmake --build build-sanitize -j "${BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"
# The C sources are the test plug-ins only, some crashing on purpose (a null store): they stay
# uninstrumented so that their crashes are the signals the audit must report, and at -O3 as in
# Release: GCC 12 at -O1/-O2 drops crash_on_step.c's store through a volatile-read null pointer.
# Every report is fatal. Crashes the audit provokes on purpose (a plug-in that segfaults, in a
# child process) must stay signals, as without ASan: ASan does not take over SIGSEGV/SIGBUS/SIGFPE.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd build-sanitize
ctest -L "unit|property|fuzz" -E "^${skip}_NOT_BUILT\$" -j "${TEST_JOBS:-$(nproc)}" --output-on-failure --timeout 1200
echo "sanitize: passed in $(( $(date +%s) - start )) s"
