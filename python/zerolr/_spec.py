"""Optimizer specs of the Python worker: ``module.path.Callable(KEY=LITERAL, ...)``.

A spec is parsed with :mod:`ast` and its values with :func:`ast.literal_eval`; nothing in it
is evaluated. The callable is found by importing the longest importable module prefix of
the dotted name and following the rest as attributes.
"""

import ast
import importlib
import types
from dataclasses import dataclass, field

from ._wire import describe

_FORM = "module.path.Callable(KEY=VALUE, ...)"


class SpecError(ValueError):
    """A spec that cannot be parsed or resolved; its message is one line for the hello."""


@dataclass
class Spec:
    """A parsed spec: the text, the dotted name of the callable and its keyword arguments."""

    text: str
    target: str
    kwargs: dict = field(default_factory=dict)


def parse_spec(text):
    """Parses ``text`` into a :class:`Spec`; SpecError names what is wrong."""
    text = " ".join(text.split())
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise SpecError(f"syntax error in spec '{text}': {e.msg} at column {e.offset}") from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise SpecError(f"spec '{text}' is not a call: write {_FORM}")
    target = _dotted_name(call.func)
    if target is None or "." not in target:
        raise SpecError(f"spec '{text}' must call a dotted name: write {_FORM}")
    if call.args:
        raise SpecError(
            f"spec '{text}' has positional arguments: the parameters are passed first, "
            "the rest must be KEY=VALUE"
        )
    return Spec(text, target, {kw.arg: _literal(kw, text) for kw in call.keywords})


def _dotted_name(node):
    """``a.b.c`` for a chain of attribute lookups on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(keyword, text):
    """The value of one KEY=VALUE argument, which must be a Python literal."""
    if keyword.arg is None:
        raise SpecError(f"spec '{text}' uses **: write each argument as KEY=VALUE")
    try:
        return ast.literal_eval(keyword.value)
    except ValueError:
        value = ast.get_source_segment(text, keyword.value)
        raise SpecError(
            f"spec '{text}': the value of '{keyword.arg}' ({value}) is not a Python literal"
        ) from None


def resolve(target):
    """The object named by the dotted name ``target`` (a module path, then attributes)."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        module = _import(module_name)
        if module is not None:
            return _follow(module, module_name, parts[cut:])
    raise SpecError(f"no module named '{parts[0]}' (from spec target '{target}')")


def _import(name):
    """The module ``name``, or None when it (or a parent package) does not exist."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
            return None
        raise SpecError(f"importing '{name}' failed: {describe(e)}") from None
    except Exception as e:  # a user module that raises while it is imported
        raise SpecError(f"importing '{name}' failed: {describe(e)}") from None


def _follow(obj, name, attributes):
    """``obj.a.b...`` for the attribute names in ``attributes``, with a clear error."""
    for attribute in attributes:
        if not hasattr(obj, attribute):
            kind = "module" if isinstance(obj, types.ModuleType) else "object"
            raise SpecError(f"{kind} '{name}' has no attribute '{attribute}'")
        obj = getattr(obj, attribute)
        name = f"{name}.{attribute}"
    return obj

