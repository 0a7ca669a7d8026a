#!/usr/bin/env bash
# Regenerates the README's claims table (between the claims:begin and claims:end markers)
# from build/tools/zerolr-claims; ctest's claims.readme_in_sync checks the two agree.
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(mktemp)
trap 'rm -f "$table"' EXIT
build/tools/zerolr-claims >"$table"
/usr/bin/python3 - "$table" <<'PY'
import sys
table = open(sys.argv[1]).read()
readme = open("README.md").read()
begin, end = "<!-- claims:begin -->\n", "<!-- claims:end -->"
i, j = readme.index(begin) + len(begin), readme.index(end)
open("README.md", "w").write(readme[:i] + table + readme[j:])
PY
