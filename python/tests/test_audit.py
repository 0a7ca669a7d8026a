"""zerolr.audit against a fake zerolr-audit that records its argv and writes a JSON report."""

import functools
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import zerolr
from conftest import PYTHON_DIR

REPORT = {
    "verdict": "fail",
    "optimizer": "python: my_optim.HandSGD(lr=0.01)",
    "claims": "sgd(lr=0.01)",
    "cases": 200,
    "seconds": 1.25,
    "findings": [
        {"property": "lr_zero_freezes", "class": "violation", "message": "params[0] moved at lr = 0",
         "counterexample": "double, n = 1, 1 step(s): params [1]; step 1: lr 0, grad [1]",
         "reproduce": "zerolr-vec-v1|scalar=double|check=lr_zero_freezes|params=0x1p+0|lrs=0x0p+0|grads=0x1p+0"},
        {"property": "non_finite", "class": "hazard", "message": "0 * NaN = NaN",
         "counterexample": "float, n = 1", "reproduce": "zerolr-vec-v1|scalar=float"},
    ],
    "drift": {"worst_ratio_float64": 0.5},
    "a_field_from_the_future": [1, 2, 3],
}

FAKE_AUDIT = f"""\
#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AUDIT_ARGV"], "w") as f:
    json.dump(args, f)
status = int(os.environ.get("FAKE_AUDIT_STATUS", "0"))
if status == 2:
    sys.stderr.write("my_optim.HandSGD(): 0/200 cases\\n")
    sys.stderr.write("zerolr-audit: the worker could not start: no module named 'my_optim'\\n")
    sys.exit(2)
with open(args[args.index("--json") + 1], "w") as f:
    f.write(os.environ["FAKE_AUDIT_REPORT"])
print("the printed report")
sys.exit(status)
"""


@pytest.fixture
def fake_audit(tmp_path, monkeypatch):
    """A fake zerolr-audit; returns a function that reads the argv of its last run."""
    exe = tmp_path / "fake-zerolr-audit"
    exe.write_text(FAKE_AUDIT)
    exe.chmod(0o755)
    argv_file = tmp_path / "argv.json"
    monkeypatch.setenv("FAKE_AUDIT_ARGV", str(argv_file))
    monkeypatch.setenv("FAKE_AUDIT_REPORT", json.dumps(REPORT))
    monkeypatch.setenv("ZEROLR_AUDIT", str(exe))

    def last_argv():
        return json.loads(argv_file.read_text())

    last_argv.exe = str(exe)
    return last_argv


def without_json_path(argv):
    """argv with the temporary report path replaced by a placeholder."""
    i = argv.index("--json")
    assert argv[i + 1].endswith("report.json")
    return argv[:i + 1] + ["REPORT"] + argv[i + 2:]


def test_default_command_line(fake_audit):
    zerolr.audit("torch.optim.Adam()")
    assert without_json_path(fake_audit()) == [
        "--python", "torch.optim.Adam()", "--json", "REPORT", "--cases", "200", "--seed", "1"]


def test_every_option_reaches_the_command_line(fake_audit, tmp_path, monkeypatch):
    monkeypatch.delenv("ZEROLR_AUDIT")
    zerolr.audit("my_optim.HandSGD(lr=0.01)", cases=20, seed=7, steps=3, timeout_ms=500,
                 claims="sgd(lr=0.01)", python_path=[tmp_path / "a", "b"], audit_exe=fake_audit.exe,
                 extra_args=["--verbose"])
    assert without_json_path(fake_audit()) == [
        "--python", "my_optim.HandSGD(lr=0.01)", "--json", "REPORT", "--cases", "20", "--seed", "7",
        "--python-path", str(tmp_path / "a"), "--python-path", "b", "--claims", "sgd(lr=0.01)",
        "--steps", "3", "--timeout-ms", "500", "--verbose"]


def test_report_is_read_from_the_json(fake_audit, monkeypatch):
    monkeypatch.setenv("FAKE_AUDIT_STATUS", "1")  # zerolr-audit's status for a failed verdict
    report = zerolr.audit("my_optim.HandSGD(lr=0.01)")
    assert report.verdict == "fail" and report.passed is False
    assert report.raw == REPORT
    assert report.findings == REPORT["findings"]
    assert [f["property"] for f in report.violations] == ["lr_zero_freezes"]
    assert report.text == "the printed report\n"
    assert repr(report) == ("AuditReport(optimizer='python: my_optim.HandSGD(lr=0.01)', verdict='fail', "
                            "cases=200, findings=2, violations=1)")


def test_passing_report(fake_audit, monkeypatch):
    monkeypatch.setenv("FAKE_AUDIT_REPORT", json.dumps([{**REPORT, "verdict": "pass", "findings": []}]))
    report = zerolr.audit("torch.optim.SGD(lr=0.1)")
    assert report.passed is True and report.findings == [] and report.violations == []


def test_exit_status_2_raises_audit_error(fake_audit, monkeypatch):
    monkeypatch.setenv("FAKE_AUDIT_STATUS", "2")
    with pytest.raises(zerolr.AuditError) as raised:
        zerolr.audit("my_optim.HandSGD()")
    assert str(raised.value) == (
        "zerolr-audit exited with status 2: zerolr-audit: the worker could not start: no module named 'my_optim'")


def test_missing_executable(tmp_path, monkeypatch):
    monkeypatch.delenv("ZEROLR_AUDIT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="zerolr-audit not found"):
        zerolr.audit("torch.optim.Adam()")


FACTORY_MODULE = """\
import torch


class HandSGD(torch.optim.Optimizer):
    class Inner:
        pass

    def __init__(self, params, lr=0.01):
        super().__init__(params, dict(lr=lr))


def make(params, momentum=0.0, nesterov=False):
    return torch.optim.SGD(params, lr=0.1, momentum=momentum, nesterov=nesterov)
"""


@pytest.fixture
def factory_module(tmp_path, monkeypatch):
    (tmp_path / "factory_mod.py").write_text(FACTORY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import factory_mod

    yield factory_mod
    del sys.modules["factory_mod"]


def python_args(argv):
    """The --python spec and the --python-path directories of an argv."""
    return argv[argv.index("--python") + 1], [argv[i + 1] for i, a in enumerate(argv) if a == "--python-path"]


def test_factory_class_from_a_file_adds_its_directory(fake_audit, factory_module, tmp_path):
    zerolr.audit(factory_module.HandSGD, python_path=["/opt/mine"])
    assert python_args(fake_audit()) == ("factory_mod.HandSGD()", ["/opt/mine", str(tmp_path.resolve())])
    zerolr.audit(factory_module.HandSGD.Inner)
    assert python_args(fake_audit()) == ("factory_mod.HandSGD.Inner()", [str(tmp_path.resolve())])


def test_partial_keywords_become_spec_arguments(fake_audit, factory_module):
    zerolr.audit(functools.partial(factory_module.make, momentum=0.5, nesterov=True))
    assert python_args(fake_audit())[0] == "factory_mod.make(momentum=0.5, nesterov=True)"


def test_installed_class_needs_no_path(fake_audit):
    zerolr.audit(torch.optim.Adam)
    assert python_args(fake_audit()) == ("torch.optim.adam.Adam()", [])


def test_unimportable_factories_are_rejected(fake_audit, factory_module):
    class Local(torch.optim.SGD):
        pass

    rejected = {
        "lambda": lambda params: torch.optim.SGD(params, lr=0.1),
        "local class": Local,
        "positional partial": functools.partial(factory_module.make, [], 0.5),
        "non-literal keyword": functools.partial(factory_module.make, momentum=object()),
        "not callable": 42,
    }
    for what, factory in rejected.items():
        with pytest.raises(TypeError, match="zerolr.audit: "):
            zerolr.audit(factory)
        assert not os.path.exists(os.environ["FAKE_AUDIT_ARGV"]), what


def test_factory_defined_in_a_script(fake_audit, tmp_path):
    """A class defined in a script (__main__) is imported by the script's file name."""
    script = tmp_path / "scripts" / "train_run.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent("""\
        import zerolr

        class ScriptSGD:
            pass

        if __name__ == "__main__":
            print(zerolr.audit(ScriptSGD).verdict)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(PYTHON_DIR)))
    assert done.stdout == "fail\n", done.stderr
    assert python_args(fake_audit()) == ("train_run.ScriptSGD()", [str(script.parent.resolve())])
