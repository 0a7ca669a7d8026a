#!/usr/bin/env python3
"""Turns zerolr-bench --benchmark_format=json (with --benchmark_repetitions=N) into the
markdown table of docs/notes/benchmarks.md: median CPU time per step of zerolr and
libtorch, the ratio libtorch/zerolr with the issue's target, zerolr's GFLOP/s, and the
rates of BM_Gemm (Eigen's product) and BM_KernelGemm (zerolr's) with the step's fraction
of each.

usage: train_table.py run.json [more.json ...]   (one table per file)
"""
import json
import sys


def medians(path):
    """The median aggregates by run name (or the single runs, without repetitions)."""
    with open(path) as f:
        data = json.load(f)
    rows = data["benchmarks"]
    if any(b.get("run_type") == "aggregate" for b in rows):
        rows = [b for b in rows if b.get("aggregate_name") == "median"]
    return data["context"], {b.get("run_name", b["name"]): b for b in rows}


def us(b):
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def table(path):
    ctx, m = medians(path)
    isa = next((b.get("label") for n, b in m.items() if n.startswith("BM_TrainStep/zerolr")), "?")
    lines = [
        f"`{path}`: {ctx.get('num_cpus')} x {ctx.get('mhz_per_cpu')} MHz, load {ctx.get('load_avg')}, "
        f"zerolr kernels: {isa}",
        "",
        "| shape | type | zerolr µs | libtorch µs | libtorch / zerolr | target | zerolr GFLOP/s "
        "| Eigen GEMM GFLOP/s | kernel GEMM GFLOP/s | step / Eigen GEMM | step / kernel GEMM |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    targets = {"small": 20, "medium": 10, "large": 5}
    for shape in ("small", "medium", "large"):
        for t in ("float", "double"):
            z = m.get(f"BM_TrainStep/zerolr/{shape}/{t}")
            l = m.get(f"BM_TrainStep/libtorch/{shape}/{t}")
            g = m.get(f"BM_Gemm/{shape}/{t}")
            k = m.get(f"BM_KernelGemm/{shape}/{t}")
            if not z:
                continue
            zt = us(z)
            if l:  # libtorch ran in the same process
                lt = us(l)
                verdict = "met" if lt / zt >= targets[shape] else "**missed**"
                torch_cols = f"{lt:.1f} | {lt / zt:.1f}x | {targets[shape]}x {verdict}"
            else:
                torch_cols = f"— | — | {targets[shape]}x (no libtorch in this run)"
            lines.append(
                f"| {shape} | {t} | {zt:.2f} | {torch_cols} | "
                f"{z['GFLOPS']:.1f} | {g['GFLOPS'] if g else float('nan'):.1f} | "
                f"{k['GFLOPS'] if k else float('nan'):.1f} | {z['of_gemm']:.2f} | {z.get('of_kernel', float('nan')):.2f} |"
            )
    f = m.get("BM_PropFreeze/max1000params")
    if f:
        lines.append("")
        lines.append(
            f"freeze property: {f['cases_per_second']:.0f} cases/s (mean {f['mean_params']:.0f} parameters, "
            f"{f['mean_steps']:.1f} steps per case)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(table(p) for p in sys.argv[1:]))
