#!/usr/bin/env bash
# A large property hunt, split into shards that N machines (or a CI matrix) run apart.
#
#   bash ci/hunt.sh --shard I/N --cases K [--chunk C] [--build DIR] [--jobs J]
#
# Every property executable (build/properties/zerolr_*_props) runs every one of its
# properties on K cases in total, in chunks of C cases (default 10000). Chunk j runs with the
# RapidCheck seed 1000 + j; shard I of N takes the chunks j with j mod N = I, so the shards
# are disjoint, their union is the whole hunt, and any chunk is reproduced by
#
#   RC_PARAMS="seed=<1000+j> max_success=<C>" build/properties/zerolr_<family>_props
#
# A failure prints the property, the shrunk case and its reproduce token (judge in
# properties/gen/case_gen.cpp); the chunk's log is kept in build/hunt/. Exit status: 0 when
# every chunk of this shard passed, 1 when one failed, 2 on bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

shard="0/1" cases="" chunk=10000 build=build jobs=$(nproc)
usage() {
  echo "usage: ci/hunt.sh --shard I/N --cases K [--chunk C] [--build DIR] [--jobs J]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shard) shard=${2:-}; shift 2 || usage ;;
    --cases) cases=${2:-}; shift 2 || usage ;;
    --chunk) chunk=${2:-}; shift 2 || usage ;;
    --build) build=${2:-}; shift 2 || usage ;;
    --jobs) jobs=${2:-}; shift 2 || usage ;;
    *) echo "ci/hunt.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ $shard =~ ^([0-9]+)/([1-9][0-9]*)$ ]] || { echo "ci/hunt.sh: --shard must be I/N with 0 <= I < N" >&2; exit 2; }
index=${BASH_REMATCH[1]} count=${BASH_REMATCH[2]}
(( index < count )) || { echo "ci/hunt.sh: --shard $shard: I must be below N" >&2; exit 2; }
[[ $cases =~ ^[1-9][0-9]*$ ]] || { echo "ci/hunt.sh: --cases must be a positive number of cases per property" >&2; exit 2; }
[[ $chunk =~ ^[1-9][0-9]*$ ]] || { echo "ci/hunt.sh: --chunk must be a positive number" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "ci/hunt.sh: --jobs must be a positive number" >&2; exit 2; }
shopt -s nullglob
exes=("$build"/properties/zerolr_*_props)
[[ ${#exes[@]} -gt 0 ]] || { echo "ci/hunt.sh: no property executables in $build/properties (build first: bash ci/build.sh)" >&2; exit 2; }

logs=$build/hunt
mkdir -p "$logs"
chunks=$(( (cases + chunk - 1) / chunk ))
tasks=()
for (( j = index; j < chunks; j += count )); do
  size=$chunk
  (( (j + 1) * chunk > cases )) && size=$(( cases - j * chunk ))
  for exe in "${exes[@]}"; do tasks+=("$j $size $exe"); done
done
echo "hunt shard $shard: ${#tasks[@]} runs (chunks of $chunk cases of every property, seeds 1000+j), $jobs at a time" >&2

run_task() {
  local j=$1 size=$2 exe=$3
  local seed=$((1000 + j)) name
  name=$(basename "$exe")
  local log="$logs/$name-seed$seed.log"
  local start=$SECONDS
  # The executables' ctest defaults do not apply here: this run sets every key it needs.
  if env -u ZEROLR_RC_DEFAULTS RC_PARAMS="seed=$seed max_success=$size" "$exe" >"$log" 2>&1; then
    local passed
    passed=$(grep -oE 'OK, passed [0-9]+ tests' "$log" | awk '{s += $3} END {print s + 0}')
    echo "ok   $name seed=$seed $passed cases $((SECONDS - start)) s"
  else
    echo "FAIL $name seed=$seed (log: $log)"
    grep -E 'property .* is violated|violation:|token:' "$log" | head -4 | sed 's/^/     /'
  fi
}
export -f run_task
export logs

results=$(printf '%s\n' "${tasks[@]}" | xargs -P "$jobs" -I{} bash -c 'run_task {}')
echo "$results"
total=$(echo "$results" | awk '$1 == "ok" {s += $4} END {print s + 0}')
failed=$(echo "$results" | grep -c '^FAIL' || true)
echo "hunt shard $shard: $total cases passed; $failed failing run(s)"
[[ $failed -eq 0 ]]
