#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, then audits every built-in
# optimizer with zerolr-audit (200 cases each) and writes the JSON report to
# build/audit-report.json. Exit status: zerolr-audit's (0: no violation).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
bash ci/build.sh >/dev/null
build/tools/zerolr-audit --optimizer all --cases 200 --json build/audit-report.json
echo
echo "JSON report: build/audit-report.json"
