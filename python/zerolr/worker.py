"""The zerolr Python worker: serves a Python optimizer to ``zerolr-audit`` (docs/worker-protocol.md).

    python3 -m zerolr.worker SPEC [--python-path DIR]... [--claims SPEC|none]

SPEC is ``module.path.Callable(KEY=LITERAL, ...)``; the callable is called as
``Callable(params, **kwargs)`` and must produce a ``torch.optim.Optimizer``. The worker
writes its hello, then answers create, step, destroy and bye requests, one JSON line each,
until ``bye`` or the end of its input. Standard output carries the protocol only: fd 1 and
``sys.stdout`` are pointed at standard error, so what the optimizer prints goes there.

The audit sets ZEROLR_RULES to zerolr's rule catalog (``zerolr-audit --list --json``); the
worker derives claims for torch.optim's own classes, and checks a --claims spec's rule and
keys, only with it. A ZEROLR_RULES that is not a catalog is a start-up error.
"""

import argparse
import functools
import json
import sys

from ._claims import CatalogError, ClaimsError, catalog_from_environment, derive_claims, parse_claims
from ._spec import SpecError, parse_spec, resolve
from ._wire import Channel, ProtocolError, describe, floats_from_hex, from_hex, one_line

PROTOCOL = {"protocol": "zerolr-worker", "version": 1}
DTYPES = ("float64", "float32")
START_FAILED = 3  # exit status after an error hello


class StartError(Exception):
    """The worker cannot start; the message (one line) goes into the error hello."""


class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors become an error hello instead of a usage exit."""

    def error(self, message):
        raise StartError(f"bad command line: {message}")


def _parse_args(argv):
    parser = _ArgumentParser(prog="python3 -m zerolr.worker", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="module.path.Callable(KEY=LITERAL, ...)")
    parser.add_argument("--python-path", action="append", default=[], metavar="DIR",
                        help="put DIR in front of sys.path (repeatable)")
    parser.add_argument("--claims", metavar="SPEC|none",
                        help="the zerolr rule the optimizer implements, or 'none'")
    return parser.parse_args(argv)


class Worker:
    """The hello, a maker of optimizer instances, and the live instances by id.

    ``new_instance(dtype, split)`` makes an instance (see zerolr._torch.Instance).
    """

    def __init__(self, name, new_instance, claims):
        self.new_instance = new_instance
        self.instances = {}
        self.handlers = {"create": self._create, "step": self._step, "destroy": self._destroy, "bye": self._bye}
        self.hello = {
            **PROTOCOL,
            "name": name,
            "claims": claims.spec,
            "dtypes": list(DTYPES),
            "may_refuse": False,
            "unchecked": claims.unchecked,
            "notes": claims.notes,
        }

    def handle(self, line):
        """The reply to one request line, and whether the worker should exit after it."""
        try:
            request = json.loads(line)
        except ValueError as e:
            return _unknown_request(f"not JSON ({one_line(e)})"), False
        op = request.get("op") if isinstance(request, dict) else None
        handler = self.handlers.get(op)
        if handler is None:
            what = "not a JSON object" if not isinstance(request, dict) else f"unknown op {json.dumps(op)}"
            return _unknown_request(what), False
        try:
            return handler(request), op == "bye"
        except ProtocolError as e:
            if op == "step":
                return {"status": "error", "message": f"protocol: {e}"}, False
            return {"ok": False, "error": f"protocol: {e}"}, False

    def _create(self, request):
        key = _id_of(request)
        if key in self.instances:
            raise ProtocolError(f"id {key} is in use")
        dtype = request.get("dtype")
        if dtype not in DTYPES:
            raise ProtocolError(f"dtype must be one of {', '.join(DTYPES)}, not {json.dumps(dtype)}")
        split = request.get("split")
        if type(split) is not list or not split or any(type(n) is not int or n < 0 for n in split):
            raise ProtocolError("split must be a non-empty list of non-negative integers")
        try:
            self.instances[key] = self.new_instance(dtype, split)
        except Exception as e:
            return {"ok": False, "error": describe(e)}
        return {"ok": True}

    def _step(self, request):
        instance = self.instances[self._live_id(request)]
        lr = from_hex(request.get("lr"))
        params = floats_from_hex(request.get("params"), instance.size, "params")
        grads = floats_from_hex(request.get("grads"), instance.size, "grads")
        try:
            values = instance.step(lr, params, grads)
        except Exception as e:
            return {"status": "error", "message": describe(e)}
        # float.hex writes exactly "inf", "-inf" and "nan" for the non-finite values.
        return {"status": "ok", "params": [x.hex() for x in values]}

    def _destroy(self, request):
        del self.instances[self._live_id(request)]
        return {"ok": True}

    def _bye(self, request):
        return {"ok": True}

    def _live_id(self, request):
        key = _id_of(request)
        if key not in self.instances:
            raise ProtocolError(f"unknown id {key}")
        return key


def _id_of(request):
    key = request.get("id")
    if type(key) is not int or key < 0:
        raise ProtocolError(f"id must be a non-negative integer, not {json.dumps(key)}")
    return key


def _unknown_request(what):
    """The reply to a request whose op is unknown: both reply shapes, so any reader sees an error."""
    message = f"protocol: {what}"
    return {"ok": False, "error": message, "status": "error", "message": message}


def start(argv):
    """Parses the command line, imports torch and the optimizer, and builds the Worker."""
    args = _parse_args(argv)
    try:
        catalog = catalog_from_environment()  # zerolr's rules, from the audit (None when run by hand)
        spec = parse_spec(args.spec)
        claims_given = args.claims is not None
        claims_override = parse_claims(args.claims, catalog) if claims_given else None
    except (CatalogError, SpecError, ClaimsError) as e:
        raise StartError(str(e)) from None
    from . import _torch  # imports torch (about a second) once the command line is good

    sys.path[0:0] = args.python_path
    try:
        factory = resolve(spec.target)
    except SpecError as e:
        raise StartError(str(e)) from None
    if not callable(factory):
        raise StartError(f"'{spec.target}' is not callable (it is a {type(factory).__name__})")
    new_instance = functools.partial(_torch.Instance, factory, spec.kwargs)
    claims = derive_claims(_probe(new_instance, spec.target), catalog)
    if claims_given:
        claims.spec = claims_override
        claims.notes = ["claims given by --claims" if claims_override else "claims turned off by --claims none"]
    return Worker(spec.text, new_instance, claims)


def _probe(new_instance, target):
    """The optimizer of an instance over one float64 value, checked to be an Optimizer."""
    try:
        probe = new_instance("float64", [1]).optimizer
    except (TypeError, ValueError) as e:
        raise StartError(f"bad arguments for {target}: {describe(e)}") from None
    except Exception as e:
        raise StartError(f"{target} raised while constructing an optimizer: {describe(e)}") from None
    if not _is_optimizer(probe):
        kind = type(probe)
        raise StartError(
            f"{target}(params, ...) gave a {kind.__module__}.{kind.__qualname__}, not a torch.optim.Optimizer"
        )
    return probe


def _is_optimizer(obj):
    import torch.optim

    return isinstance(obj, torch.optim.Optimizer)


def main(argv=None):
    """Runs the worker; returns its exit status (0, or 3 after an error hello)."""
    channel = Channel.take_standard_streams()
    sys.stdout = sys.stderr
    try:
        worker = start(argv)
    except StartError as e:
        channel.send({**PROTOCOL, "error": one_line(e)})
        return START_FAILED
    try:
        channel.send(worker.hello)
        while True:
            line = channel.receive()
            if line is None:
                return 0
            reply, done = worker.handle(line)
            channel.send(reply)
            if done:
                return 0
    except BrokenPipeError:  # the audit closed our output: it is gone, as at end of input
        return 0


if __name__ == "__main__":
    sys.exit(main())
