"""Helpers for the tests: launching the worker as a subprocess and talking to it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
BUILT_AUDIT = PYTHON_DIR.parent / "build" / "tools" / "zerolr-audit"

_catalog = []  # the rule catalog's JSON text, once read


def rule_catalog():
    """zerolr's rule catalog, the JSON text that ``zerolr-audit --list --json`` prints.

    The audit gives it to every worker as ZEROLR_RULES; the tests take it from the real
    executable: $ZEROLR_AUDIT, else this checkout's build/tools/zerolr-audit. Without either
    the test fails (the catalog is never written out by hand here: the rules live in the
    C++ registry only).
    """
    if not _catalog:
        exe = os.environ.get("ZEROLR_AUDIT") or (str(BUILT_AUDIT) if BUILT_AUDIT.is_file() else None)
        how = ("the worker tests need zerolr's rule catalog from zerolr-audit --list --json: build "
               f"zerolr-audit ({BUILT_AUDIT}) or set ZEROLR_AUDIT to the executable")
        if exe is None:
            pytest.fail(f"zerolr-audit not found; {how}", pytrace=False)
        try:
            done = subprocess.run([exe, "--list", "--json"], capture_output=True, text=True, timeout=60)
        except OSError as e:
            pytest.fail(f"cannot run {exe} --list --json ({e}); {how}", pytrace=False)
        try:
            catalog = json.loads(done.stdout) if done.returncode == 0 else None
        except ValueError:
            catalog = None
        if not isinstance(catalog, list) or not catalog:
            last = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
            pytest.fail(f"{exe} --list --json (status {done.returncode}) printed no rule catalog: {last}; {how}",
                        pytrace=False)
        _catalog.append(done.stdout)
    return _catalog[0]


@pytest.fixture(scope="session")
def rules():
    """zerolr's rule catalog, parsed: ``{rule name: [key, ...]}`` in the catalog's order."""
    return {rule["name"]: [key["name"] for key in rule["keys"]] for rule in json.loads(rule_catalog())}


def worker_env(rules=True):
    """The environment of a worker: this checkout's python/ directory on PYTHONPATH, and
    ZEROLR_RULES as the audit sets it (``rules=True``), not at all (``False``) or set to a
    given text."""
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    env.pop("ZEROLR_RULES", None)
    if rules is True:
        env["ZEROLR_RULES"] = rule_catalog()
    elif rules is not False:
        env["ZEROLR_RULES"] = rules
    return env


class Worker:
    """A running ``python3 -m zerolr.worker`` with its hello read; ``rules`` as in worker_env."""

    def __init__(self, *args, rules=True):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zerolr.worker", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=worker_env(rules),
        )
        self._hello = None

    @property
    def hello(self):
        if self._hello is None:
            self._hello = json.loads(self.process.stdout.readline())
        return self._hello

    def send_line(self, line):
        """Sends one raw line and returns the reply, parsed."""
        self.hello  # noqa: B018 - the hello comes first
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def request(self, **message):
        return self.send_line(json.dumps(message))

    def step(self, key, lr, params, grads):
        """A step with Python floats in, the reply out."""
        return self.request(op="step", id=key, lr=lr.hex(), params=[x.hex() for x in params],
                            grads=[g.hex() for g in grads])

    def close(self):
        """Closes stdin and returns (exit status, rest of stdout, stderr)."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        out, err = self.process.stdout.read(), self.process.stderr.read()
        return self.process.wait(timeout=30), out, err

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()


@pytest.fixture
def start_worker():
    """Starts workers (``start_worker(SPEC, *args, rules=True)``) and kills any still running at the end."""
    started = []

    def start(*args, rules=True):
        worker = Worker(*args, rules=rules)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def run_worker(*args, stdin=b"", rules=True):
    """Runs a worker to completion: (exit status, stdout lines, stderr); ``rules`` as in worker_env."""
    done = subprocess.run([sys.executable, "-m", "zerolr.worker", *args], input=stdin,
                          capture_output=True, env=worker_env(rules), timeout=60)
    return done.returncode, done.stdout.decode().splitlines(), done.stderr.decode()
