"""Loading a class that flows.yaml names as `package.module:ClassName` (a custom step type,
condition or user directory)."""

from __future__ import annotations

import importlib
from typing import TypeVar

T = TypeVar("T")


class NotLoadable(LookupError):
    """The name does not load a subclass of what was asked for; the message says why."""


def load_class(name: str, base: type[T], kind: str) -> type[T]:
    """The subclass of `base` that `name` names; `kind` (e.g. "step type") words the errors."""
    module_name, sep, attribute = name.partition(":")
    if not sep:
        raise NotLoadable(f"a {kind} is named as package.module:ClassName, not {name!r}")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise NotLoadable(f"cannot load {kind} {name!r}: {exc}") from exc
    if not (isinstance(found, type) and issubclass(found, base)):
        raise NotLoadable(f"{name!r} is not a subclass of {base.__module__}.{base.__qualname__}")
    return found
