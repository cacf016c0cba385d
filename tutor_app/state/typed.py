"""Typed forms of the few Reflex 0.10 calls whose annotations mypy cannot follow (used by
state, components and pages alike; it imports nothing of the app).

Reflex types its API for pyright; three spots read wrongly under mypy, and each wrapper here
only restates the type of what Reflex returns at run time:

- `rx.page` has no return annotation, so every decorated page would become untyped;
- `rx.cond`'s overloads for values (not components) take covariant type variables as
  parameters, which mypy rejects, so only the component overloads are left;
- a state field read on its class is a Var at run time, but the state classes declare the
  value type (`items: list[X] = []`), so mypy sees a list where a page needs `.length()`
  (`array`, `flag`, `number`, `row` restate the Var's type);
- `rx.event` builds a handler in `EventNamespace.__new__`, whose return type mypy ignores
  (it is not an `EventNamespace`), so a decorated method reads as an `EventNamespace`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import reflex as rx
from reflex.event import EventSpec
from reflex.vars import ArrayVar, BooleanVar, NumberVar, ObjectVar, Var

T = TypeVar("T")

PageFunction = Callable[[], rx.Component]
# One item of a list of dicts a state field holds, as `rx.foreach` hands it to a renderer.
Row = ObjectVar[Mapping[str, Any]]
Handler = Callable[..., EventSpec]

_cond_value = cast(Callable[[Any, Any, Any], Var[Any]], rx.cond)


def page(**options: Any) -> Callable[[PageFunction], PageFunction]:
    """`@rx.page(...)`: registers the page and returns the function unchanged."""
    decorator: Callable[[PageFunction], PageFunction] = rx.page(**options)
    return decorator


def cond_value(condition: Any, if_true: Any, if_false: Any) -> Var[Any]:
    """`rx.cond(condition, if_true, if_false)` for values (a colour, a label, a prop)."""
    return _cond_value(condition, if_true, if_false)


def handler(event: object) -> Handler:
    """A state's `@rx.event` method read on its class: called with its arguments, an event."""
    return cast(Handler, event)


def array(field: list[T]) -> ArrayVar[list[T]]:
    """A state's list field read on its class (`State.items`): the Var that it is then."""
    return cast(ArrayVar[list[T]], field)


def flag(field: bool) -> BooleanVar:
    """A state's bool field, or a comparison of its fields, read on its class: a BooleanVar."""
    return cast(BooleanVar, field)


def number(field: int) -> NumberVar[int]:
    """A state's int field read on its class: the Var that it is then."""
    return cast(NumberVar[int], field)


def row(field: Mapping[str, Any]) -> Row:
    """A state's dict field read on its class: the Var that it is then."""
    return cast(Row, field)
