#!/usr/bin/env bash
# Fuzz smoke run: builds the libFuzzer targets with clang (coverage, ASan, UBSan) in build-fuzz/
# and runs each for a bounded time over the available cores. Exits non-zero on any finding.
#
#   bash ci/fuzz-smoke.sh                      # every target, 60 s each
#   FUZZ_SECONDS=600 FUZZ_TARGETS=fuzz_train bash ci/fuzz-smoke.sh
#   ZEROLR_PLUGIN=/path/to/libmy_optimizer.so FUZZ_TARGETS=fuzz_optimizer_plugin bash ci/fuzz-smoke.sh
#
# Environment: FUZZ_SECONDS (60) per target; FUZZ_JOBS (nproc) parallel fuzzing processes
# (libFuzzer -fork); FUZZ_TARGETS (all three); ZEROLR_PLUGIN (the example AdamW) for
# fuzz_optimizer_plugin; BUILD_JOBS (nproc) for the build; MINIMIZE_SECONDS (30) per finding,
# for the MINIMIZE_COUNT (3) smallest new findings.
#
# New inputs that found coverage go to build-fuzz/fuzz-work/TARGET/ (the committed seeds in
# fuzz/corpus/ are read, never written). A finding is saved under findings/TARGET/ (gitignored)
# with a minimized copy and a .reproduce.sh holding the command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
read -r -a targets <<<"${FUZZ_TARGETS:-fuzz_train fuzz_parse fuzz_optimizer_plugin}"
minimize=${MINIMIZE_SECONDS:-30}

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f build-fuzz/CMakeCache.txt ]]; then
  cmake -S . -B build-fuzz "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DZEROLR_BUILD_FUZZ=ON >/dev/null
fi
cmake --build build-fuzz -j "${BUILD_JOBS:-$(nproc)}" --target "${targets[@]}" zerolr_example_adamw zerolr_fuzz_dicts >/dev/null

plugin=${ZEROLR_PLUGIN:-$root/build-fuzz/examples/plugins/libzerolr_example_adamw.so}
export ZEROLR_PLUGIN=$plugin
# A finding must stop the run with a report: UBSan aborts, LeakSanitizer stays on.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for t in "${targets[@]}"; do
  exe=$root/build-fuzz/fuzz/$t
  work=$root/build-fuzz/fuzz-work/$t
  found=$root/findings/$t
  mkdir -p "$work" "$found"
  dict=()
  [[ -f build-fuzz/fuzz/$t.dict ]] && dict=(-dict="$root/build-fuzz/fuzz/$t.dict")
  log=$root/build-fuzz/fuzz-work/$t.log
  before=$(find "$found" -maxdepth 1 -type f ! -name '*.reproduce.sh' ! -name 'minimized-*' | wc -l)
  note=""
  [[ $t == fuzz_optimizer_plugin ]] && note=", plug-in ${plugin##*/}"
  echo "== $t: ${seconds} s, $jobs job(s)$note" >&2
  set +e
  (cd "$work" && "$exe" -fork="$jobs" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
     -artifact_prefix="$found/" -print_final_stats=1 "${dict[@]}" "$work" "$root/fuzz/corpus/$t") >"$log" 2>&1
  rc=$?
  set -e
  # The last status line: "#N: cov: C ft: F corp: K exec/s: E ..." (fork mode).
  stats=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
  [[ -z "$stats" ]] && stats=$(grep -E '^#[0-9]+.*cov:' "$log" | tail -1 || true)
  after=$(find "$found" -maxdepth 1 -type f ! -name '*.reproduce.sh' ! -name 'minimized-*' | wc -l)
  if [[ $rc -ne 0 || $after -gt $before ]]; then
    status=1
    summary+=("$t: FINDING (exit $rc); $stats")
    grep -E '==zerolr-fuzz==|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log" | head -5 >&2 || true
    # The smallest new findings are minimized (a broken target can give hundreds of inputs).
    mapfile -t new < <(find "$found" -maxdepth 1 -type f ! -name '*.reproduce.sh' ! -name 'minimized-*' \
                         -printf '%s %p\n' | sort -n | cut -d' ' -f2- | while read -r f; do
                         [[ -f "$f.reproduce.sh" ]] || echo "$f"; done | head -n "${MINIMIZE_COUNT:-3}")
    echo "   $((after - before)) new finding input(s) in $found; minimizing ${#new[@]}" >&2
    for c in "${new[@]}"; do
      small="$found/minimized-${c##*/}"
      "$exe" -minimize_crash=1 -max_total_time="$minimize" -exact_artifact_path="$small" "$c" >/dev/null 2>&1 || true
      [[ -f "$small" ]] || cp "$c" "$small"
      cat >"$c.reproduce.sh" <<REPRO
#!/usr/bin/env bash
# Reproduces a $t finding ($(wc -c <"$c") bytes; minimized: $(wc -c <"$small") bytes).
export ZEROLR_PLUGIN='$plugin'
exec '$exe' '$small'
REPRO
      chmod +x "$c.reproduce.sh"
      echo "   saved $c ($(wc -c <"$c") bytes), minimized $(wc -c <"$small") bytes; reproduce: $c.reproduce.sh" >&2
    done
  else
    summary+=("$t: ok; $stats")
  fi
done
echo
printf '%s\n' "${summary[@]}"
exit $status
