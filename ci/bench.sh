#!/usr/bin/env bash
# Issue 7's benchmark in one command: installs what is missing, builds zerolr-bench (Release,
# in ./build), runs the training steps (zerolr and libtorch side by side), both GEMMs and the
# freeze property with repetitions, and prints the table with each target met or missed.
#
#   bash ci/bench.sh                  # 5 repetitions, JSON in build/bench-results.json
#   REPS=3 OUT=/tmp/r.json bash ci/bench.sh
#   ZEROLR_ISA=avx2 bash ci/bench.sh  # the AVX2 kernels on an AVX-512 machine
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-5}
out=${OUT:-build/bench-results.json}
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "ci/bench.sh: REPS must be a positive integer, got '$reps'" >&2; exit 2; }
bash ci/install-deps.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$(nproc)" --target zerolr-bench
build/bench/zerolr-bench --benchmark_filter='Gemm|TrainStep|PropFreeze' \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null
python3 bench/train_table.py "$out"
