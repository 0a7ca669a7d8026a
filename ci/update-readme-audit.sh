#!/usr/bin/env bash
# Regenerates the README's measured audit figures from the built tools:
#   - between audit:begin and audit:end: Adam's report and the table of every built-in rule
#     (zerolr-audit --optimizer all --cases 200, seed 1, as ci/main.sh runs it);
#   - between calibration:begin and calibration:end: zerolr-calibrate's tables (3 seeds;
#     with python3-torch also PyTorch 1.13's own optimizers). Takes several minutes.
# Usage: bash ci/update-readme-audit.sh [--no-calibration]
set -euo pipefail
cd "$(dirname "$0")/.."
calibration=1
case "${1:-}" in
  "") ;;
  --no-calibration) calibration=0 ;;
  *) echo "ci/update-readme-audit.sh: unknown argument '$1'" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/tools/zerolr-audit --optimizer all --cases 200 --json "$work/all.json" >"$work/all.txt" 2>&1 || true
if [[ $calibration -eq 1 ]]; then
  torch=()
  /usr/bin/python3 -c 'import torch' 2>/dev/null && torch=(--torch)
  PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" build/tools/zerolr-calibrate --seeds 3 "${torch[@]}" >"$work/calibration.md"
fi
/usr/bin/python3 - "$work" "$calibration" <<'PY'
import json, re, sys
work, calibration = sys.argv[1], sys.argv[2] == "1"
reports = json.load(open(f"{work}/all.json"))
text = open(f"{work}/all.txt").read()
# Adam's report as the tool prints it, without the progress lines.
adam = next(r for r in reports if r["optimizer"].startswith("adam("))
lines = [l for l in text.splitlines() if not re.search(r": \d+/\d+ cases$", l)]
start = next(i for i, l in enumerate(lines) if l.startswith(adam["optimizer"] + "  (claims"))
block = [lines[start]]
for l in lines[start + 1:]:
    if not l.startswith(" "):
        break
    block.append(l)
rows = ["| optimizer | verdict | worst trajectory error / budget (float64 / float32) | findings |",
        "|---|---|---|---|"]
for r in reports:
    d = r["drift"]
    findings = ", ".join(f"{f['property']} ({f['class']})" for f in r["findings"]) or "none"
    rows.append(f"| `{r['optimizer']}` | {r['verdict']} | {d['worst_ratio_float64']:.3g} / "
                f"{d['worst_ratio_float32']:.3g} | {findings} |")
section = ("Measured on this machine (seed 1), Adam's report in full:\n\n```\n" + "\n".join(block) +
           "\n```\n\nand all twelve rules (`zerolr-audit --list` prints them with their keys, defaults "
           "and ranges):\n\n" + "\n".join(rows) + "\n")
readme = open("README.md").read()
def put(readme, name, body):
    begin, end = f"<!-- {name}:begin -->\n", f"<!-- {name}:end -->"
    i, j = readme.index(begin) + len(begin), readme.index(end)
    return readme[:i] + body + readme[j:]
readme = put(readme, "audit", section)
if calibration:
    readme = put(readme, "calibration", open(f"{work}/calibration.md").read())
open("README.md", "w").write(readme)
PY
