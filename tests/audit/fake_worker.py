"""A worker of the zerolr worker protocol (docs/worker-protocol.md) in plain Python, no torch:
plain SGD (p <- p - lr g) that misbehaves as MODE says, for the executor's tests.

    python3 fake_worker.py MODE

Modes: sgd (correct, claims sgd), garbage (prints a non-JSON hello), exit_in_hello (exits
with status 7 before its hello), silent (never says hello), error_hello (cannot start),
wrong_length (every step reply holds no values), crash_on_step (exits during the second
step of an instance), crash_always (exits on every step), hang_on_step (never answers a step with lr > 0.5),
raise_on_step (answers every step with an exception), refuse (refuses every step but says it
never refuses), decimal (answers with decimal numbers instead of hexadecimal floats),
sgd_lists (correct, and checks that each instance is created with the split it is sent).
"""
import json
import struct
import sys
import time

MODE = sys.argv[1]


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def hello(**extra):
    h = {"protocol": "zerolr-worker", "version": 1, "name": "fake-" + MODE, "claims": "sgd",
         "dtypes": ["float64", "float32"], "may_refuse": False, "unchecked": [], "notes": []}
    h.update(extra)
    send(h)


def unwire(s):
    if s in ("nan", "-nan"):
        return float("nan")
    if s in ("inf", "-inf"):
        return float(s)
    return float.fromhex(s)


def f32(v):
    """v rounded to float32, as a float32 tensor would hold it."""
    return struct.unpack("f", struct.pack("f", v))[0]


def wire(v):
    if v != v:
        return "nan"
    return float.hex(v)


if MODE == "garbage":
    print("this is not a hello")
    sys.exit(0)
if MODE == "exit_in_hello":
    sys.stderr.write("fake worker: cannot open the model\n")
    sys.exit(7)
if MODE == "silent":
    time.sleep(60)
    sys.exit(0)
if MODE == "error_hello":
    send({"protocol": "zerolr-worker", "version": 1, "error": "module 'torch.optim' has no attribute 'Adamm'"})
    sys.exit(3)

hello()
instances = {}
for line in sys.stdin:
    req = json.loads(line)
    op = req["op"]
    if op == "bye":
        send({"ok": True})
        break
    if op == "create":
        instances[req["id"]] = (req["split"], req["dtype"], [0])
        if sum(req["split"]) < 1 or any(n < 1 for n in req["split"]):
            send({"ok": False, "error": "bad split"})
            continue
        send({"ok": True})
    elif op == "destroy":
        instances.pop(req["id"], None)
        send({"ok": True})
    elif op == "step":
        lr = unwire(req["lr"])
        params = [unwire(p) for p in req["params"]]
        grads = [unwire(g) for g in req["grads"]]
        split, dtype, instance_steps = instances[req["id"]]
        instance_steps[0] += 1
        if MODE == "sgd_lists" and len(params) != sum(split):
            send({"status": "error", "message": "the step's length differs from the instance's split"})
            continue
        if MODE == "wrong_length":
            send({"status": "ok", "params": []})
            continue
        if MODE == "crash_on_step" and instance_steps[0] == 2:
            sys.stderr.write("fake worker: segfault imitation\n")
            sys.exit(1)
        if MODE == "crash_always":
            sys.exit(1)
        if MODE == "hang_on_step" and lr > 0.5:
            time.sleep(600)
        if MODE == "raise_on_step":
            send({"status": "error", "message": "ZeroDivisionError: float division by zero"})
            continue
        if MODE == "refuse":
            send({"status": "refused"})
            continue
        new = [p - lr * g for p, g in zip(params, grads)]
        if dtype == "float32":
            new = [f32(p - f32(lr * g)) for p, g in zip(params, grads)]
        if MODE == "decimal":
            send({"status": "ok", "params": [repr(v) for v in new]})
            continue
        send({"status": "ok", "params": [wire(v) for v in new]})
