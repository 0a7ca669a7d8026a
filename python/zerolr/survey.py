"""Audits every first-order torch.optim optimizer that zerolr has a rule for, on both code
paths (foreach off and on), and prints the verdict table in Markdown.

    python3 -m zerolr.survey [--audit PATH/zerolr-audit] [--cases N] [--seed S]

The optimizers are found, not listed: every torch.optim.Optimizer subclass whose lower-case
name is a rule in zerolr's catalog (``zerolr-audit --list --json``), at its defaults (SGD,
whose lr 1.13 requires, at lr=0.01). Exit status: 0 when the table was produced, 2 when
zerolr-audit cannot be run.
"""

import argparse
import inspect
import json
import subprocess
import sys

from zerolr._audit import AuditError, audit, find_audit_exe


def torch_optimizers(catalog):
    """(spec, rule) for each torch.optim class that has a rule in the catalog, both paths."""
    import torch  # noqa: imported here: the module must stay importable without torch

    torch.set_num_threads(1)
    rules = {r["name"] for r in catalog}
    out = []
    for name in sorted(dir(torch.optim), key=str.lower):
        cls = getattr(torch.optim, name)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)) or name.lower() not in rules:
            continue
        params = inspect.signature(cls).parameters
        required_lr = "lr" in params and params["lr"].default is not inspect.Parameter.empty and \
            type(params["lr"].default).__name__ == "_RequiredParameter"
        base = "lr=0.01," if required_lr else ""
        for foreach in (False, True):
            out.append((f"torch.optim.{name}({base}foreach={foreach})", name.lower()))
    return out


def summary(report):
    """The findings of a report that matter most: violations and rule findings, by kind."""
    kinds = []
    for f in report.findings:
        if f["class"] in ("violation", "rule"):
            kind = f"{f['property']} {f['class']}"
            if kind not in kinds:
                kinds.append(kind)
    return ", ".join(kinds) if kinds else "none"


def ratio(value):
    """A worst-ratio field of the report: a number, or "inf" (a NaN against a finite value)."""
    return f"{value:.3g}" if isinstance(value, (int, float)) else str(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audit", help="the zerolr-audit executable (default: $ZEROLR_AUDIT, then PATH)")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        exe = find_audit_exe(args.audit)
        listed = subprocess.run([exe, "--list", "--json"], capture_output=True, text=True, check=True)
        catalog = json.loads(listed.stdout)
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        print(f"zerolr.survey: cannot read zerolr-audit's catalog: {e}", file=sys.stderr)
        return 2
    print("| torch.optim (1.13) | verdict | seconds | worst error / budget (float64 / float32) | "
          "violations and rule findings |")
    print("|---|---|---:|---|---|")
    for spec, _rule in torch_optimizers(catalog):
        try:
            r = audit(spec, cases=args.cases, seed=args.seed, audit_exe=exe)
        except AuditError as e:
            print(f"| `{spec}` | cannot audit | | | {e} |")
            continue
        drift = r.raw.get("drift", {})
        print(f"| `{spec}` | {r.verdict} | {r.raw.get('seconds', 0):.2f} | "
              f"{ratio(drift.get('worst_ratio_float64'))} / {ratio(drift.get('worst_ratio_float32'))} | "
              f"{summary(r)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
