"""zerolr.torch_claims: one JSON object with evidence for six claims, the same for the same seed."""

import json
import subprocess
import sys

from conftest import worker_env

CLAIMS = ("freeze", "test_loss_frozen", "fluctuations", "state_advances", "adam_vs_sgd", "non_finite")


def run_claims(seed):
    done = subprocess.run([sys.executable, "-m", "zerolr.torch_claims", "--seed", str(seed)],
                          capture_output=True, text=True, env=worker_env(rules=False), timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_six_claims_measured_deterministically():
    first = run_claims(3)
    assert run_claims(3) == first
    report = json.loads(first)
    assert set(report) == {"torch_version", "seed", *CLAIMS}
    assert report["seed"] == 3
    for name in CLAIMS:
        entry = report[name]
        assert set(entry) == {"verdict", "evidence", "held", "runs"}, name
        assert entry["verdict"] and entry["evidence"], name
        assert 0 <= entry["held"] <= entry["runs"] and entry["runs"] > 0, name
    # What torch does at lr = 0: Rprop (only) moves the weights, the optimizer does not change
    # the test loss, Adam's state advances, and a NaN input poisons the weights.
    assert report["freeze"]["verdict"].startswith("Does not hold for Rprop:")
    assert report["freeze"]["runs"] - report["freeze"]["held"] == 3
    assert report["adam_vs_sgd"]["held"] == report["adam_vs_sgd"]["runs"]
    assert report["state_advances"]["held"] == 0
    assert report["non_finite"]["held"] == 0
    # BatchNorm moves the test loss (half of the runs are with BatchNorm).
    assert report["test_loss_frozen"]["held"] == report["test_loss_frozen"]["runs"] // 2
