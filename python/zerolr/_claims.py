"""Claims: the zerolr rule (an optimizer spec in zerolr's syntax) a Python optimizer implements.

zerolr's rules and their keys live in one place, zerolr's C++ registry. The audit hands the
worker that list in the environment variable ZEROLR_RULES (the JSON of ``zerolr-audit --list
--json``); :func:`catalog_from_environment` reads it. For torch.optim's own classes the claims
are read from the optimizer's ``param_groups`` (so PyTorch's defaults are filled in) and named
by the rule of the class's name in lower case, when the catalog has it. Subclasses and other
optimizers get claims only from ``--claims SPEC``.
"""

import inspect
import json
import os
import re
from dataclasses import dataclass, field

RULES_VARIABLE = "ZEROLR_RULES"
NO_CATALOG_NOTE = f"no rule catalog ({RULES_VARIABLE}): run through zerolr-audit for derived claims"

# torch.optim's group keys that hold a pair, and the rule keys they become.
_PAIRS = {
    "betas": ("beta1", "beta2"),
    "etas": ("etaminus", "etaplus"),
    "step_sizes": ("step_size_min", "step_size_max"),
}
# Group keys that choose an implementation, not a rule: they are what the audit checks.
_IMPLEMENTATION_KEYS = frozenset({"params", "foreach", "capturable", "differentiable", "fused"})

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = (
    r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
)
_BOOLEANS = ("0", "1", "true", "false")
_SPEC = re.compile(rf"\s*({_NAME})\s*(?:\((.*)\))?\s*")
_ARG = re.compile(rf"\s*(?:({_NAME})\s*=\s*)?(\S(?:.*\S)?)\s*")


class ClaimsError(ValueError):
    """A --claims value that is not a zerolr spec (of a rule in the catalog, when there is one)."""


class CatalogError(ValueError):
    """A ZEROLR_RULES value that is not a rule catalog."""


class Catalog:
    """zerolr's rules as ``zerolr-audit --list --json`` prints them: each rule's keys, in order,
    and which of them are booleans."""

    def __init__(self, rules):
        self.rules = rules  # {rule name: [(key, is_bool), ...] in zerolr's order}

    def keys(self, rule):
        return [key for key, _ in self.rules[rule]]

    def is_bool(self, rule, key):
        return dict(self.rules[rule])[key]

    def __contains__(self, rule):
        return rule in self.rules

    @classmethod
    def from_json(cls, text):
        """The catalog in ``text``; CatalogError when it is not one."""
        if not text.strip():
            raise CatalogError("it is empty")
        try:
            entries = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise CatalogError(f"not JSON ({e})") from None
        if not isinstance(entries, list):
            raise CatalogError("not a JSON list of rules")
        rules = {}
        for i, entry in enumerate(entries):
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not re.fullmatch(_NAME, name):
                raise CatalogError(f"rule {i} has no name")
            if name in rules:
                raise CatalogError(f"rule '{name}' is listed twice")
            keys = entry.get("keys")
            if not isinstance(keys, list):
                raise CatalogError(f"rule '{name}' has no list of keys")
            rules[name] = []
            for key in keys:
                key_name = key.get("name") if isinstance(key, dict) else None
                if not isinstance(key_name, str) or not re.fullmatch(_NAME, key_name):
                    raise CatalogError(f"a key of rule '{name}' has no name")
                if not isinstance(key.get("bool"), bool):
                    raise CatalogError(f"key '{key_name}' of rule '{name}' has no boolean 'bool'")
                if key_name in (k for k, _ in rules[name]):
                    raise CatalogError(f"key '{key_name}' of rule '{name}' is listed twice")
                rules[name].append((key_name, key["bool"]))
        return cls(rules)


def catalog_from_environment(environ=os.environ):
    """The catalog in $ZEROLR_RULES, or None when it is not set; CatalogError when it is not one."""
    text = environ.get(RULES_VARIABLE)
    if text is None:
        return None
    try:
        return Catalog.from_json(text)
    except CatalogError as e:
        raise CatalogError(
            f"{RULES_VARIABLE} is not zerolr's rule catalog (the JSON of 'zerolr-audit --list --json'): {e}"
        ) from None


@dataclass
class Claims:
    """What the hello says about the rule: claims (or None), unchecked options, notes."""

    spec: "str | None" = None
    unchecked: list = field(default_factory=list)
    notes: list = field(default_factory=list)


# --- --claims SPEC ----------------------------------------------------------------------------

def parse_claims(text, catalog=None):
    """The claims given by ``--claims TEXT``: a checked spec, or None for ``none``.

    The syntax is always checked; the rule and its keys only against a catalog.
    """
    text = text.strip()
    if text == "none":
        return None
    match = _SPEC.fullmatch(text)
    if match is None:
        raise ClaimsError(f"--claims '{text}' is not NAME(KEY=VALUE,...) (or 'none')")
    name, args = match.groups()
    if catalog is not None and name not in catalog:
        raise ClaimsError(f"--claims '{text}': zerolr has no rule '{name}' (rules: {', '.join(catalog.rules)})")
    if args is not None and args.strip():
        for position, arg in enumerate(args.split(",")):
            _check_arg(text, name, position, arg, catalog)
    return text


def _check_arg(text, name, position, arg, catalog):
    """Checks one KEY=VALUE (or, first, a bare value for the rule's first key)."""
    match = _ARG.fullmatch(arg)
    if match is None:
        raise ClaimsError(f"--claims '{text}': empty argument")
    key, value = match.groups()
    if key is None and position != 0:
        raise ClaimsError(f"--claims '{text}': '{value}' needs a KEY=")
    if catalog is None:  # syntax only: a number or a boolean
        if not (value in _BOOLEANS or re.fullmatch(_NUMBER, value)):
            raise ClaimsError(f"--claims '{text}': {key or 'the first value'}={value} is not a number or a boolean")
        return
    keys = catalog.keys(name)
    if key is None:
        if not keys:
            raise ClaimsError(f"--claims '{text}': rule '{name}' has no keys")
        key = keys[0]
    if key not in keys:
        raise ClaimsError(
            f"--claims '{text}': unknown key '{key}' for {name} (valid keys: {', '.join(keys) or 'none'})"
        )
    boolean = catalog.is_bool(name, key)
    if not (value in _BOOLEANS if boolean else re.fullmatch(_NUMBER, value)):
        kind = "a boolean (0, 1, true or false)" if boolean else "a number"
        raise ClaimsError(f"--claims '{text}': {key}={value} is not {kind}")


# --- claims derived from torch.optim's own classes ----------------------------------------------

def derive_claims(optimizer, catalog):
    """The claims of ``optimizer`` read from its param_groups (torch.optim's own classes only),
    named by a rule of ``catalog`` (None: no catalog, no claims)."""
    cls = type(optimizer)
    if not _is_torch_class(cls):
        return Claims(notes=[_why_not_torch(cls)])
    name = cls.__name__
    if catalog is None:
        return Claims(notes=[NO_CATALOG_NOTE])
    rule = name.lower()
    if rule not in catalog:
        return Claims(notes=[f"no claims: zerolr has no rule '{rule}' (for torch.optim.{name})"])
    parameters = inspect.signature(cls).parameters
    specs, unchecked, missing = set(), [], []
    for group in optimizer.param_groups:
        values, group_unchecked = _read_group(catalog.keys(rule), parameters, group)
        unchecked += [u for u in group_unchecked if u not in unchecked]
        missing += [k for k in catalog.keys(rule) if k not in values and k not in missing]
        specs.add(_rule_spec(catalog, rule, values))
    if unchecked:
        why = f"{', '.join(unchecked)} changes the update and zerolr's rule '{rule}' has no such option"
        return Claims(unchecked=unchecked, notes=[f"claims withheld: {why}"])
    if missing:
        return Claims(notes=[f"claims withheld: torch.optim.{name} has no option for {', '.join(missing)} "
                             f"of zerolr's rule '{rule}'"])
    if len(specs) != 1:
        return Claims(notes=["claims withheld: the param groups have different options"])
    spec = specs.pop()
    if spec is None:
        return Claims(notes=[f"claims withheld: an option of torch.optim.{name} is not a plain number"])
    return Claims(spec=spec, notes=[f"claims read from torch.optim.{name}'s param_groups"])


def _is_torch_class(cls):
    """Whether ``cls`` is one of torch.optim's own classes (not the base class Optimizer)."""
    import torch.optim

    return cls is not torch.optim.Optimizer and getattr(torch.optim, cls.__name__, None) is cls


def _why_not_torch(cls):
    """The note for an optimizer class that is not one of torch.optim's own."""
    what = f"{cls.__module__}.{cls.__qualname__}"
    for base in cls.__mro__[1:]:
        if _is_torch_class(base):
            return (
                f"no claims: {what} is a subclass of torch.optim.{base.__name__}, not torch.optim's "
                "own class; give --claims SPEC to compare it with a rule"
            )
    return f"no claims: {what} is not one of torch.optim's classes; give --claims SPEC to compare it with a rule"


def _read_group(rule_keys, parameters, group):
    """The rule's values in one param group, and the group's options the rule does not have.

    An option the rule does not have is unchecked when its value is not the constructor's
    default (``parameters``, from inspect.signature); a pair's halves count one by one.
    """
    values, unchecked = {}, []
    for key, value in group.items():
        if key in _IMPLEMENTATION_KEYS:
            continue
        default = parameters[key].default if key in parameters else inspect.Parameter.empty
        if key in _PAIRS:
            pair = _pair(value)
            default_pair = _pair(default)
            for i, half in enumerate(_PAIRS[key]):
                if half in rule_keys:
                    values[half] = pair[i] if pair else None
                elif pair is None:
                    if not _equal(value, default):
                        unchecked.append(f"{key}={value!r}")
                    break
                elif default_pair is None or not _equal(pair[i], default_pair[i]):
                    unchecked.append(f"{half}={pair[i]!r}")
        elif key in rule_keys:
            values[key] = value
        elif not _equal(value, default):
            unchecked.append(f"{key}={value!r}")
    return values, unchecked


def _pair(value):
    """``value`` as a 2-tuple, or None when it is not a pair."""
    return tuple(value) if isinstance(value, (tuple, list)) and len(value) == 2 else None


def _equal(value, default):
    """Whether an option's value equals its default (False when there is no default, or when
    ``==`` does not give a truth value)."""
    if default is inspect.Parameter.empty:
        return False
    try:
        return bool(value == default)
    except Exception:
        return False


def _rule_spec(catalog, rule, values):
    """``rule(key=value,...)`` in zerolr's syntax, keys in the catalog's order, or None when a
    value is not a number (or a boolean, for a boolean key)."""
    texts = []
    for key, boolean in catalog.rules[rule]:
        if key not in values:
            continue
        text = _format(values[key], boolean)
        if text is None:
            return None
        texts.append(f"{key}={text}")
    return f"{rule}({','.join(texts)})"


def _format(value, boolean):
    """A rule value in zerolr's syntax: 0/1 for a boolean key, repr for a number, else None."""
    if boolean:
        return {False: "0", True: "1"}.get(value) if isinstance(value, (bool, int)) else None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value))
    return None
