#!/usr/bin/env bash
# The README's main command: installs what is missing, builds (showing progress), audits
# every built-in optimizer with zerolr-audit (200 cases each, JSON report in
# build/audit-report.json), then audits every first-order torch.optim optimizer of Debian's
# python3-torch where it is written (Python, through zerolr's worker) and prints the verdict
# table. Exit status: the built-in audits' (0: no violation); PyTorch's own findings are
# reported, not failed on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
echo "== building zerolr (build/): a few minutes on a fresh machine; every 25th step is shown"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +o pipefail
bash ci/build.sh 2>&1 | tee "$log" | grep -E --line-buffered '^\[[0-9]+/[0-9]+\]' |
  awk '{ if (NR % 25 == 1) print substr($0, 1, 110); fflush() }'
build_status=${PIPESTATUS[0]}
set -o pipefail
if [[ $build_status -ne 0 ]]; then
  tail -40 "$log" >&2
  echo "main: the build failed (status $build_status)" >&2
  exit "$build_status"
fi
echo
echo "== zerolr's built-in optimizers"
status=0
build/tools/zerolr-audit --optimizer all --cases 200 --json build/audit-report.json || status=$?
echo
echo "JSON report: build/audit-report.json"
python=$(sed -n 's/^Python3_EXECUTABLE:[A-Z]*=//p' build/CMakeCache.txt)
python=${python:-/usr/bin/python3}
echo
echo "== torch.optim (python3-torch), audited in Python by zerolr-audit --python"
if "$python" -c "import torch" 2>/dev/null; then
  PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" "$python" -m zerolr.survey --audit build/tools/zerolr-audit
else
  echo "(skipped: $python has no torch; bash ci/install-deps.sh installs python3-torch)"
fi
exit "$status"
