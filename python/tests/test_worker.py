"""The Python worker, driven as a subprocess over the protocol (docs/worker-protocol.md)."""

import json
import os
import textwrap
import time

import pytest
import torch

from conftest import Worker, run_worker

PROTOCOL_KEYS = {"protocol": "zerolr-worker", "version": 1}


def torch_spec(name, kwargs):
    """``torch.optim.NAME(k=v, ...)`` for a class name and its keyword arguments."""
    return f"torch.optim.{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def start_all(start_worker, specs, rules=True):
    """Starts one worker per spec at once (their torch imports overlap) and reads the hellos."""
    workers = {spec: start_worker(*([spec] if isinstance(spec, str) else spec), rules=rules) for spec in specs}
    return {spec: w.hello for spec, w in workers.items()}


def claim_keys(claims):
    """The keys of a claims spec ``rule(k=v,...)``, in order."""
    return [arg.split("=")[0] for arg in claims[claims.index("(") + 1:-1].split(",")]


# --- hello ------------------------------------------------------------------------------

def test_hello_has_every_field(start_worker):
    hello = start_worker("torch.optim.Adam( weight_decay=0.01 )").hello
    assert hello == {
        **PROTOCOL_KEYS,
        "name": "torch.optim.Adam( weight_decay=0.01 )",
        "claims": "adam(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=0)",
        "dtypes": ["float64", "float32"],
        "may_refuse": False,
        "unchecked": [],
        "notes": ["claims read from torch.optim.Adam's param_groups"],
    }


def test_implementation_choices_are_not_rule_options(start_worker):
    hello = start_worker("torch.optim.Adam(foreach=True, capturable=False, differentiable=True, fused=False)").hello
    assert hello["claims"] == "adam(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0,amsgrad=0)"
    assert hello["unchecked"] == []


def test_claims_withheld_or_absent(start_worker):
    maximize, rprop_maximize, at_default, lbfgs, sparse, off = specs = [
        "torch.optim.Adam(maximize=True)",
        "torch.optim.Rprop(maximize=True, etas=(0.25, 1.5))",
        "torch.optim.SGD(lr=0.1, maximize=False)",
        "torch.optim.LBFGS()",
        "torch.optim.SparseAdam()",
        ("torch.optim.SGD(lr=0.1)", "--claims", "none"),
    ]
    hellos = start_all(start_worker, specs)
    # An option no rule has, set away from its default, changes the update: claims withheld.
    for spec in (maximize, rprop_maximize):
        assert hellos[spec]["claims"] is None, spec
        assert hellos[spec]["unchecked"] == ["maximize=True"], spec
        assert any("maximize=True" in note and "withheld" in note for note in hellos[spec]["notes"]), spec
    # At its default it is ignored.
    assert hellos[at_default]["claims"] == "sgd(lr=0.1,momentum=0,dampening=0,weight_decay=0,nesterov=0)"
    assert hellos[at_default]["unchecked"] == []
    # torch.optim's classes without a rule of that name in the catalog.
    for spec, rule in ((lbfgs, "lbfgs"), (sparse, "sparseadam")):
        assert hellos[spec]["claims"] is None
        assert hellos[spec]["unchecked"] == []
        assert any(f"zerolr has no rule '{rule}'" in note for note in hellos[spec]["notes"]), hellos[spec]
    assert hellos[off]["claims"] is None
    assert hellos[off]["notes"] == ["claims turned off by --claims none"]


def test_no_rule_catalog_no_derived_claims(start_worker):
    """A worker started by hand (no ZEROLR_RULES): no derived claims; --claims is checked for
    syntax only, since the rules are not known."""
    adam, maximize, claimed, unknown_rule = specs = [
        "torch.optim.Adam(weight_decay=0.01)",
        "torch.optim.Adam(maximize=True)",
        ("torch.optim.Adam()", "--claims", "adam(lr=0.1,amsgrad=1)"),
        ("torch.optim.Adam()", "--claims", "adan(beta=0.9)"),
    ]
    hellos = start_all(start_worker, specs, rules=False)
    for spec in (adam, maximize):
        assert hellos[spec]["claims"] is None
        assert hellos[spec]["unchecked"] == []
        assert hellos[spec]["notes"] == [
            "no rule catalog (ZEROLR_RULES): run through zerolr-audit for derived claims"]
    assert hellos[claimed]["claims"] == "adam(lr=0.1,amsgrad=1)"
    assert hellos[unknown_rule]["claims"] == "adan(beta=0.9)"
    assert hellos[unknown_rule]["notes"] == ["claims given by --claims"]


# --- steps against torch.optim in-process --------------------------------------------------

# Each first-order class with options that take the less common paths (none at their
# defaults), and the claims the worker must derive from it with the rule catalog (PyTorch's
# defaults filled in, keys in the catalog's order).
STEP_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
     "sgd(lr=0.1,momentum=0.9,dampening=0,weight_decay=0.01,nesterov=1)"),
    ("Adam", {"betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.1},
     "adam(lr=0.001,beta1=0.8,beta2=0.99,eps=1e-08,weight_decay=0.1,amsgrad=1)"),
    ("AdamW", {"lr": 0.002},
     "adamw(lr=0.002,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=0)"),
    ("RMSprop", {"centered": True, "momentum": 0.5},
     "rmsprop(lr=0.01,alpha=0.99,eps=1e-08,weight_decay=0,momentum=0.5,centered=1)"),
    ("Adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1},
     "adagrad(lr=0.01,lr_decay=0.01,weight_decay=0,initial_accumulator_value=0.1,eps=1e-10)"),
    ("NAdam", {"weight_decay": 0.01},
     "nadam(lr=0.002,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.01,momentum_decay=0.004)"),
    ("RAdam", {"eps": 1e-6, "weight_decay": 0.01},
     "radam(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-06,weight_decay=0.01)"),
    ("Adamax", {"betas": (0.5, 0.9), "weight_decay": 0.01},
     "adamax(lr=0.002,beta1=0.5,beta2=0.9,eps=1e-08,weight_decay=0.01)"),
    ("Adadelta", {"rho": 0.95, "weight_decay": 0.01},
     "adadelta(lr=1.0,rho=0.95,eps=1e-06,weight_decay=0.01)"),
    ("ASGD", {"t0": 1.0},
     "asgd(lr=0.01,lambd=0.0001,alpha=0.75,t0=1.0,weight_decay=0)"),
    ("Rprop", {"etas": (0.4, 1.5)},
     "rprop(lr=0.01,etaminus=0.4,etaplus=1.5,step_size_min=1e-06,step_size_max=50)"),
]
LRS = [0.01, 0.0, 0.003, 0.02, 0.0]


def random_values(gen, n, dtype):
    """``n`` Python floats exactly representable in ``dtype``."""
    return torch.randn(n, generator=gen, dtype=torch.float64).to(dtype).tolist()


def reference_trajectory(name, kwargs, dtype, split, steps):
    """The parameters after each step of torch.optim.NAME in this process, as hex strings."""
    tensors = [torch.zeros(n, dtype=dtype) for n in split]
    optimizer = getattr(torch.optim, name)(tensors, **kwargs)
    results = []
    for lr, params, grads in steps:
        with torch.no_grad():
            flat_params, flat_grads = torch.tensor(params, dtype=dtype), torch.tensor(grads, dtype=dtype)
            start = 0
            for t in tensors:
                t.copy_(flat_params[start:start + t.numel()])
                t.grad = flat_grads[start:start + t.numel()].clone()
                start += t.numel()
            for group in optimizer.param_groups:
                group["lr"] = lr
        optimizer.step()
        results.append([x.hex() for t in tensors for x in t.tolist()])
    return results


def worker_trajectory(worker, key, dtype, split, steps):
    """The same steps through the worker; params of step 3 on are the worker's own results."""
    dtype_name = str(dtype).replace("torch.", "")
    assert worker.request(op="create", id=key, dtype=dtype_name, split=split) == {"ok": True}
    results = []
    for lr, params, grads in steps:
        reply = worker.step(key, lr, params, grads)
        assert reply["status"] == "ok", reply
        results.append(reply["params"])
    assert worker.request(op="destroy", id=key) == {"ok": True}
    return results


def make_steps(seed, dtype, n):
    """Steps of random params and grads; from the third step on params continue the trajectory."""
    gen = torch.Generator().manual_seed(seed)
    return [(lr, random_values(gen, n, dtype), random_values(gen, n, dtype)) for lr in LRS]


@pytest.mark.parametrize("foreach", [False, True])
def test_claims_and_steps_equal_torch_optim_bit_for_bit(start_worker, foreach, rules):
    """Each class's claims, and its steps against torch.optim in this process (float64 and
    float32, split into several tensors), with foreach off and on."""
    cases = {torch_spec(name, {**kwargs, "foreach": foreach}): (name, {**kwargs, "foreach": foreach}, claims)
             for name, kwargs, claims in STEP_CASES}
    workers = {spec: start_worker(spec) for spec in cases}  # started together: imports overlap
    assert {spec: w.hello["claims"] for spec, w in workers.items()} == {s: c[2] for s, c in cases.items()}
    for _, _, claims in STEP_CASES:  # the real catalog's rules, with every key, in its order
        assert claim_keys(claims) == rules[claims[:claims.index("(")]], claims
    for spec, (name, kwargs, _) in cases.items():
        worker = workers[spec]
        for key, (dtype, split) in enumerate([(torch.float64, [2, 3, 1]), (torch.float32, [4, 2]),
                                              (torch.float64, [1])]):
            steps = make_steps(key, dtype, sum(split))
            expected = reference_trajectory(name, kwargs, dtype, split, steps)
            assert worker_trajectory(worker, key, dtype, split, steps) == expected, (spec, dtype, split)


def test_continued_trajectory_keeps_state(start_worker):
    """Feeding each reply back as the next params gives torch's multi-step trajectory."""
    worker = start_worker("torch.optim.Adam(lr=0.1)")
    assert worker.request(op="create", id=7, dtype="float32", split=[3]) == {"ok": True}
    tensor = torch.tensor([0.5, -1.0, 2.0])
    optimizer = torch.optim.Adam([tensor], lr=0.1)
    params = tensor.tolist()
    for i, grads in enumerate([[0.25, -0.5, 1.0], [0.125, 0.5, -1.0], [1.0, 1.0, 1.0]]):
        tensor.grad = torch.tensor(grads)
        optimizer.step()
        reply = worker.step(7, 0.1, params, grads)
        params = [float.fromhex(x) for x in reply["params"]]
        assert params == tensor.tolist(), f"step {i + 1}"


@pytest.fixture(scope="module")
def sgd_worker():
    """One ``torch.optim.SGD(lr=0.1)`` worker shared by the tests of this module that create
    their own instance ids."""
    worker = Worker("torch.optim.SGD(lr=0.1)")
    yield worker
    worker.kill()


def test_lr_of_each_step_is_used(sgd_worker):
    worker = sgd_worker
    assert worker.request(op="create", id=100, dtype="float64", split=[2]) == {"ok": True}
    assert worker.step(100, 0.5, [1.0, 2.0], [0.25, -1.0])["params"] == [(0.875).hex(), (2.5).hex()]
    assert worker.step(100, 0.0, [1.0, 2.0], [0.25, -1.0])["params"] == [(1.0).hex(), (2.0).hex()]
    assert worker.step(100, 2.0**-3, [1.0, 2.0], [0.25, -1.0])["params"] == [(0.96875).hex(), (2.125).hex()]


def test_rprop_moves_at_lr_zero(start_worker):
    """Rprop's step size starts at lr = 0 and is clamped up to 1e-6: lr = 0 moves the weights."""
    worker = start_worker("torch.optim.Rprop()")
    assert worker.request(op="create", id=0, dtype="float64", split=[4]) == {"ok": True}
    grads = [3.0, -0.25, 0.0, 1e-300]
    first = worker.step(0, 0.0, [1.0, -2.0, 0.5, 3.0], grads)["params"]
    assert first == [(1.0 - 1e-6).hex(), (-2.0 + 1e-6).hex(), (0.5).hex(), (3.0 - 1e-6).hex()]
    # Same signs again: the step size grows by etaplus = 1.2, except where grad * prev_grad
    # underflows to 0 (1e-300 squared), which counts as a sign change of 0.
    params = [float.fromhex(x) for x in first]
    second = worker.step(0, 0.0, params, grads)["params"]
    grown = 1e-6 * 1.2
    assert second == [(params[0] - grown).hex(), (params[1] + grown).hex(), (0.5).hex(), (params[3] - 1e-6).hex()]


def test_non_finite_values_cross_the_pipe(sgd_worker):
    worker = sgd_worker
    assert worker.request(op="create", id=101, dtype="float64", split=[3, 3]) == {"ok": True}
    reply = worker.request(op="step", id=101, lr="0x0p+0",
                           params=["inf", "-inf", "nan", "-0x0p+0", "0x1p-1074", "0x1p+0"],
                           grads=["0x0p+0", "0x0p+0", "0x0p+0", "0x0p+0", "0x1p+0", "-nan"])
    # lr = 0 leaves finite params alone, but 0 * NaN = NaN.
    assert reply == {"status": "ok", "params": ["inf", "-inf", "nan", "-0x0.0p+0", "0x0.0000000000001p-1022", "nan"]}


def test_optimizer_exception_is_an_error_reply(start_worker):
    worker = start_worker("torch.optim.SparseAdam()")
    assert worker.request(op="create", id=0, dtype="float32", split=[2]) == {"ok": True}
    reply = worker.step(0, 0.1, [1.0, 2.0], [0.5, 0.5])
    assert reply == {"status": "error",
                     "message": "RuntimeError: SparseAdam does not support dense gradients, please consider Adam instead"}
    assert worker.request(op="destroy", id=0) == {"ok": True}


def test_constructor_exception_at_create(start_worker, tmp_path):
    (tmp_path / "flaky_optim.py").write_text(textwrap.dedent("""\
        import torch

        calls = []

        def make(params):
            calls.append(1)
            if len(calls) > 1:
                raise ValueError("only one optimizer\\nper process")
            return torch.optim.SGD(params, lr=0.1)
    """))
    worker = start_worker("flaky_optim.make()", "--python-path", str(tmp_path))
    assert worker.hello["claims"] == "sgd(lr=0.1,momentum=0,dampening=0,weight_decay=0,nesterov=0)"
    assert worker.request(op="create", id=0, dtype="float64", split=[1]) == {
        "ok": False, "error": "ValueError: only one optimizer per process"}


# --- start-up failures ----------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["nosuch_module_zz.Opt()"], "no module named 'nosuch_module_zz'"),
    (["torch.optim.Adamm()"], "module 'torch.optim' has no attribute 'Adamm'"),
    (["torch.nn.Identity()"], "gave a torch.nn.modules.linear.Identity, not a torch.optim.Optimizer"),
    (["torch.pi()"], "'torch.pi' is not callable"),
    (["torch.optim.Adam(lr=)"], "syntax error in spec 'torch.optim.Adam(lr=)'"),
    (["torch.optim.Adam(lr=-1.0)"], "bad arguments for torch.optim.Adam: ValueError: Invalid learning rate: -1.0"),
    (["torch.optim.Adam(nosuch=1)"], "unexpected keyword argument 'nosuch'"),
    (["torch.optim.SGD()"], "required optimization parameter lr"),
    (["torch.optim.Adam(0.1)"], "has positional arguments"),
    (["torch.optim.Adam(lr=x)"], "the value of 'lr' (x) is not a Python literal"),
    (["Adam()"], "must call a dotted name"),
    (["torch.optim.Adam()", "--claims", "adam(lr=0.1"], "--claims 'adam(lr=0.1' is not NAME(KEY=VALUE,...)"),
    (["torch.optim.Adam()", "--claims", "adan(lr=0.1)"], "zerolr has no rule 'adan' (rules: sgd, adam, "),
    (["torch.optim.Adam()", "--claims", "adam(beta=0.9)"],
     "unknown key 'beta' for adam (valid keys: lr, beta1, beta2, eps, weight_decay, amsgrad)"),
    (["torch.optim.SGD(lr=0.1)", "--claims", "sgd(0.1,maximize=1)"], "unknown key 'maximize' for sgd"),
    (["torch.optim.SGD(lr=0.1)", "--claims", "sgd(nesterov=2)"], "nesterov=2 is not a boolean"),
    (["torch.optim.SGD(lr=0.1)", "--claims", "sgd(lr=fast)"], "lr=fast is not a number"),
    ([], "bad command line"),
])
def test_start_failure_is_one_error_hello(args, expected):
    status, lines, _ = run_worker(*args)
    assert status == 3
    assert len(lines) == 1, lines
    hello = json.loads(lines[0])
    assert set(hello) == {"protocol", "version", "error"}
    assert hello["protocol"] == "zerolr-worker" and hello["version"] == 1
    assert expected in hello["error"]


@pytest.mark.parametrize("rules, expected", [
    ("[{", "not JSON"),
    ("", "it is empty"),
    ('{"name": "adam"}', "not a JSON list of rules"),
    ('[{"name": "adam", "keys": [{"name": "lr"}]}]', "key 'lr' of rule 'adam' has no boolean 'bool'"),
    ('[{"keys": []}]', "rule 0 has no name"),
    ("[" * 100000, "not JSON"),
])
def test_malformed_rule_catalog_is_an_error_hello(rules, expected):
    status, lines, err = run_worker("torch.optim.Adam()", rules=rules)
    assert status == 3
    assert len(lines) == 1, lines
    hello = json.loads(lines[0])
    assert set(hello) == {"protocol", "version", "error"}
    assert hello["error"].startswith("ZEROLR_RULES is not zerolr's rule catalog"), hello
    assert expected in hello["error"]
    assert "Traceback" not in err


def test_import_failure_of_user_module(tmp_path):
    (tmp_path / "broken_optim.py").write_text("import torch\nraise RuntimeError('cannot load')\n")
    status, lines, _ = run_worker("broken_optim.Opt()", "--python-path", str(tmp_path))
    assert status == 3
    assert json.loads(lines[0])["error"] == "importing 'broken_optim' failed: RuntimeError: cannot load"


# --- robustness -------------------------------------------------------------------------------

def test_malformed_requests_get_errors_and_the_worker_keeps_serving(start_worker):
    worker = start_worker("torch.optim.SGD(lr=0.1)")
    assert worker.request(op="create", id=0, dtype="float64", split=[2]) == {"ok": True}
    good_step = {"op": "step", "id": 0, "lr": "0x1p-1", "params": ["0x1p+0", "0x1p+1"], "grads": ["0x1p-2", "-0x1p+0"]}
    step_errors = {
        json.dumps({**good_step, "id": 9}): "protocol: unknown id 9",
        json.dumps({**good_step, "params": ["0x1p+0"]}): "protocol: 'params' has 1 values, expected 2",
        json.dumps({**good_step, "grads": ["0x1p+0", "1.5"]}): 'protocol: not a hex float: "1.5"',
        json.dumps({**good_step, "lr": 0.5}): "protocol: not a hex float: 0.5",
        json.dumps({**good_step, "grads": None}): "protocol: 'grads' must be a list of hex-float strings",
        json.dumps({**good_step, "id": True}): "protocol: id must be a non-negative integer, not true",
    }
    for line, message in step_errors.items():
        assert worker.send_line(line) == {"status": "error", "message": message}, line
    other_errors = {
        json.dumps({"op": "create", "id": 0, "dtype": "float64", "split": [1]}): "protocol: id 0 is in use",
        json.dumps({"op": "create", "id": 1, "dtype": "float16", "split": [1]}): "protocol: dtype must be",
        json.dumps({"op": "create", "id": 1, "dtype": "float64", "split": []}): "protocol: split must be",
        json.dumps({"op": "create", "id": -1, "dtype": "float64", "split": [1]}): "protocol: id must be",
        json.dumps({"op": "destroy", "id": 5}): "protocol: unknown id 5",
    }
    for line, message in other_errors.items():
        reply = worker.send_line(line)
        assert reply["ok"] is False and reply["error"].startswith(message), (line, reply)
    for line in ["this is not json", "[1, 2]", '{"op": "frobnicate"}', "{}", ""]:
        reply = worker.send_line(line)
        assert reply["ok"] is False and reply["error"].startswith("protocol: "), (line, reply)
        assert reply["status"] == "error" and reply["message"] == reply["error"]
    assert worker.send_line(json.dumps(good_step)) == {"status": "ok", "params": [(0.875).hex(), (2.5).hex()]}
    assert worker.request(op="bye") == {"ok": True}
    status, rest, _ = worker.close()
    assert (status, rest) == (0, b"")


NOISY_MODULE = """\
import os
import sys

import torch

print("import-time chatter")


class NoisySGD(torch.optim.SGD):
    def __init__(self, params, lr=0.5):
        print("constructing {")
        super().__init__(params, lr=lr)

    def step(self, closure=None):
        print("stepping", flush=False)
        sys.stdout.write('{"status": "ok", "params": []}\\n')
        os.write(1, b"straight to fd 1\\n")
        sys.stdin.read()  # finds nothing: the requests are not on fd 0
        return super().step(closure)
"""


def test_printing_optimizer_does_not_corrupt_the_protocol(start_worker, tmp_path):
    (tmp_path / "noisy_optim.py").write_text(NOISY_MODULE)
    worker = start_worker("noisy_optim.NoisySGD()", "--python-path", str(tmp_path))
    assert worker.hello["name"] == "noisy_optim.NoisySGD()"
    assert worker.request(op="create", id=0, dtype="float32", split=[1, 1]) == {"ok": True}
    for _ in range(2):
        assert worker.step(0, 0.5, [1.0, 2.0], [0.5, -2.0]) == {"status": "ok", "params": [(0.75).hex(), (3.0).hex()]}
    status, rest, err = worker.close()
    assert (status, rest) == (0, b"")
    for text in (b"import-time chatter", b"constructing {", b"stepping", b"straight to fd 1"):
        assert text in err


HAND_MODULE = """\
import torch


class HandSGD(torch.optim.Optimizer):
    def __init__(self, params, lr=0.01):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.add_(p.grad, alpha=-group["lr"])


def make_sgd(params, momentum=0.0):
    return torch.optim.SGD(params, lr=0.125, momentum=momentum)
"""


def test_user_optimizer_served_from_python_path(start_worker, tmp_path):
    (tmp_path / "hand_optim.py").write_text(HAND_MODULE)
    path = ["--python-path", str(tmp_path)]
    plain, claimed, function = specs = [
        ("hand_optim.HandSGD(lr=0.25)", *path),
        ("hand_optim.HandSGD(lr=0.25)", *path, "--claims", "sgd(lr=0.25)"),
        ("hand_optim.make_sgd(momentum=0.5)", *path),
    ]
    hellos = start_all(start_worker, specs)
    assert hellos[plain]["claims"] is None
    assert "is not one of torch.optim's classes; give --claims SPEC" in hellos[plain]["notes"][0]
    assert hellos[claimed]["claims"] == "sgd(lr=0.25)"
    assert hellos[claimed]["notes"] == ["claims given by --claims"]
    # A function that returns torch.optim's own class: the claims are read from it.
    assert hellos[function]["claims"] == "sgd(lr=0.125,momentum=0.5,dampening=0,weight_decay=0,nesterov=0)"


def test_torch_subclass_gets_no_claims(start_worker, tmp_path):
    (tmp_path / "sub_optim.py").write_text("import torch\n\nclass MyAdam(torch.optim.Adam):\n    pass\n")
    worker = start_worker("sub_optim.MyAdam()", "--python-path", str(tmp_path))
    assert worker.hello["claims"] is None
    assert "subclass of torch.optim.Adam" in worker.hello["notes"][0]
    assert worker.request(op="create", id=0, dtype="float64", split=[1]) == {"ok": True}
    assert worker.step(0, 0.0, [1.0], [0.5]) == {"status": "ok", "params": [(1.0).hex()]}


def test_end_of_input_exits_zero_and_leaves_no_process(start_worker):
    worker = start_worker("torch.optim.Adam()")
    assert worker.hello["protocol"] == "zerolr-worker"
    pid = worker.process.pid
    children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    assert children == []
    status, rest, _ = worker.close()
    assert (status, rest) == (0, b"")
    assert not os.path.exists(f"/proc/{pid}")  # exited and reaped: no zombie


def test_throughput(start_worker):
    """2,000 six-value Adam steps: the figures are printed (pytest -s); the floor is lenient."""
    launched = time.perf_counter()
    worker = start_worker("torch.optim.Adam()")
    assert worker.hello["claims"] is not None
    hello_seconds = time.perf_counter() - launched
    assert worker.request(op="create", id=0, dtype="float64", split=[2, 4]) == {"ok": True}
    gen = torch.Generator().manual_seed(0)
    lines = [json.dumps({"op": "step", "id": 0, "lr": (1e-3).hex(),
                         "params": [x.hex() for x in random_values(gen, 6, torch.float64)],
                         "grads": [x.hex() for x in random_values(gen, 6, torch.float64)]}) for _ in range(2000)]
    started = time.perf_counter()
    replies = [worker.send_line(line) for line in lines]
    per_second = len(lines) / (time.perf_counter() - started)
    print(f"\nworker: hello after {hello_seconds:.2f} s; {per_second:.0f} steps/s (6 values, Adam)")
    assert all(reply["status"] == "ok" and len(reply["params"]) == 6 for reply in replies)
    assert per_second > 1000
