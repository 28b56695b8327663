"""Constructor argument validation shared by the layers: errors quote the received value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {name}={value!r}")
    return int(value)


def check_num_classes(value: Any) -> int:
    """Return ``value`` if it is an int >= 0 (0 means "no classifier"), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"num_classes must be an int >= 0; received num_classes={value!r}")
    return int(value)


def check_non_negative_float(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number >= 0, else raise ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0; received {name}={value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; received {name}={value!r}")
    return value


def to_tuple(name: str, value: Any, length: int) -> tuple[int, ...]:
    """Expand an int to a ``length``-tuple of positive ints, or check a given sequence's length."""
    if isinstance(value, int) and not isinstance(value, bool):
        items: tuple[Any, ...] = (value,) * length
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == length:
        items = tuple(value)
    else:
        raise ValueError(
            f"{name} must be an int or a sequence of {length} ints; received {name}={value!r}"
        )
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise ValueError(f"{name} must contain positive integers; received {name}={value!r}")
    return tuple(int(i) for i in items)


def per_layer(name: str, value: Any, num_layers: int) -> list[Any]:
    """Repeat a scalar setting for every layer, or check that a list has one entry per layer."""
    if isinstance(value, list):
        if len(value) != num_layers:
            raise ValueError(
                f"{name} has {len(value)} entries but num_layers={num_layers}; give one per layer "
                f"or a single value; received {name}={value!r}"
            )
        return list(value)
    return [value] * num_layers
