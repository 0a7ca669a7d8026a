"""Audit your own optimizer with zerolr in a pytest suite.

Needs the zerolr-audit executable: set ZEROLR_AUDIT to it (e.g. build/tools/zerolr-audit), or
put it on PATH. Run from python/:

    ZEROLR_AUDIT=../build/tools/zerolr-audit /usr/bin/python3 -m pytest -q examples
"""

from pathlib import Path

import zerolr

HERE = Path(__file__).resolve().parent


def test_hand_sgd_is_sgd_and_freezes_at_lr_zero():
    # my_optim.py sits next to this file; the worker imports it from python_path. The claims
    # say which of zerolr's rules HandSGD implements, so its trajectories are compared with
    # the exact reference of SGD as well as checked at lr = 0.
    report = zerolr.audit("my_optim.HandSGD(lr=0.01)", claims="sgd(lr=0.01)", python_path=[HERE])
    assert report.passed, "\n".join(f"{f['property']}: {f['message']}" for f in report.violations)
