"""``zerolr.audit``: runs ``zerolr-audit --python`` on a Python optimizer and reads its JSON report."""

import ast
import functools
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path


class AuditError(RuntimeError):
    """zerolr-audit could not audit (its exit status 2): a bad spec, a worker that cannot start."""


class AuditReport:
    """The report of one audit, built from zerolr-audit's JSON.

    ``verdict`` is "pass" or "fail"; ``passed`` is True for "pass"; ``findings`` are dicts
    with property, class, message, counterexample and reproduce; ``violations`` are the
    findings of class "violation"; ``raw`` is the whole JSON object; ``text`` is the report
    zerolr-audit printed (handy as an assertion message).
    """

    def __init__(self, raw, text=""):
        self.raw = raw
        self.text = text
        self.verdict = raw.get("verdict")
        self.passed = self.verdict == "pass"
        self.findings = list(raw.get("findings", []))
        self.violations = [f for f in self.findings if f.get("class") == "violation"]

    def __repr__(self):
        return (
            f"AuditReport(optimizer={self.raw.get('optimizer')!r}, verdict={self.verdict!r}, "
            f"cases={self.raw.get('cases')!r}, findings={len(self.findings)}, "
            f"violations={len(self.violations)})"
        )


def audit(spec_or_factory, cases=200, seed=1, steps=None, timeout_ms=None, claims=None,
          python_path=None, audit_exe=None, extra_args=()):
    """Audits a Python optimizer with zerolr-audit and returns an :class:`AuditReport`.

    ``spec_or_factory`` is a worker spec such as ``"torch.optim.Adam(weight_decay=0.01)"``,
    or an optimizer class or module-level function (called with the parameters only), or a
    ``functools.partial`` of one with literal keyword arguments. A factory's module is
    imported by name in the worker; when it is not importable from the standard locations
    (a test file, a script), its directory is added to ``python_path``. A script's module
    is imported under its file name, so it must not run an audit at import time.

    ``claims`` is a zerolr spec (``"sgd(lr=0.01)"``) or ``"none"``; ``python_path`` lists
    directories for the worker's sys.path; ``audit_exe`` is the zerolr-audit executable
    (else $ZEROLR_AUDIT, else zerolr-audit on PATH). Raises :class:`AuditError` when the
    tool cannot audit (exit status 2) and FileNotFoundError when it cannot be found.
    """
    spec, factory_paths = spec_of(spec_or_factory)
    paths = [str(p) for p in python_path or []]
    paths += [p for p in factory_paths if p not in paths]
    exe = find_audit_exe(audit_exe)
    with tempfile.TemporaryDirectory(prefix="zerolr-audit-") as tmp:
        report_path = os.path.join(tmp, "report.json")
        command = [exe, "--python", spec, "--json", report_path, "--cases", str(cases), "--seed", str(seed)]
        for path in paths:
            command += ["--python-path", path]
        if claims is not None:
            command += ["--claims", claims]
        if steps is not None:
            command += ["--steps", str(steps)]
        if timeout_ms is not None:
            command += ["--timeout-ms", str(timeout_ms)]
        command += [str(a) for a in extra_args]
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            raise AuditError(_failure(done))
        return AuditReport(_read_report(report_path, done), done.stdout)


def find_audit_exe(audit_exe=None):
    """The zerolr-audit executable: ``audit_exe``, else $ZEROLR_AUDIT, else PATH's zerolr-audit."""
    exe = audit_exe or os.environ.get("ZEROLR_AUDIT") or shutil.which("zerolr-audit")
    if not exe:
        raise FileNotFoundError(
            "zerolr-audit not found: pass audit_exe=, set ZEROLR_AUDIT, or put zerolr-audit on PATH "
            "(it is built as build/tools/zerolr-audit)"
        )
    return str(exe)


def _failure(done):
    """The AuditError message for a run that ended with a status other than 0 or 1."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "(nothing on stderr)"
    return f"zerolr-audit exited with status {done.returncode}: {last}"


def _read_report(path, done):
    """The JSON report of a finished run (one object; a list of one is taken too)."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise AuditError(f"zerolr-audit (status {done.returncode}) left no readable report: {e}") from None
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if not isinstance(raw, dict):
        raise AuditError("zerolr-audit's report is not one JSON object")
    return raw


def spec_of(target):
    """The worker spec for ``target`` and the directories its module needs on sys.path."""
    if isinstance(target, str):
        return target, []
    kwargs = {}
    if isinstance(target, functools.partial):
        if target.args:
            raise TypeError("zerolr.audit: a functools.partial may only bind keyword arguments")
        kwargs = target.keywords
        target = target.func
    module, qualname, paths = _importable_name(target)
    arguments = ", ".join(f"{key}={_literal(key, value)}" for key, value in kwargs.items())
    return f"{module}.{qualname}({arguments})", paths


def _importable_name(factory):
    """``(module, qualname, paths)`` by which the worker can import ``factory``."""
    module_name = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None)
    if not callable(factory) or module_name is None or qualname is None:
        raise TypeError(f"zerolr.audit: {factory!r} is not a spec string, class or function")
    if "<" in qualname:
        raise TypeError(
            f"zerolr.audit: {qualname} is a lambda or a local definition, which another process "
            "cannot import; define it at module level or pass a spec string"
        )
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if module_name == "__main__":
        if file is None:
            raise TypeError(
                f"zerolr.audit: {qualname} is defined in an interactive session, which another "
                "process cannot import; define it in a module file"
            )
        module_spec = getattr(module, "__spec__", None)
        module_name = module_spec.name if module_spec is not None else Path(file).stem
    if file is None:
        return module_name, qualname, []
    root = _import_root(Path(file), module_name)
    return module_name, qualname, [] if _is_standard_location(root) else [str(root)]


def _import_root(file, module_name):
    """The directory from which ``module_name`` (loaded from ``file``) is imported."""
    root = file.resolve().parent
    if file.name == "__init__.py":
        root = root.parent
    for _ in range(module_name.count(".")):
        root = root.parent
    return root


def _is_standard_location(directory):
    """Whether a fresh interpreter (with this PYTHONPATH) has ``directory`` on sys.path."""
    standard = [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    standard += site.getsitepackages() + [site.getusersitepackages()]
    standard += os.environ.get("PYTHONPATH", "").split(os.pathsep)
    return any(p and Path(p).resolve() == directory for p in standard)


def _literal(key, value):
    """``repr(value)`` when it reads back (ast.literal_eval) as an equal value, else TypeError."""
    text = repr(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        same = False
    if not same:
        raise TypeError(f"zerolr.audit: the argument {key}={text} is not a Python literal")
    return text
