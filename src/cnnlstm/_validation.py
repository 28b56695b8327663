"""Argument validation for every layer of the package: one place, one wording.

Every check returns the value (converted where that is safe) or raises ``ValueError`` with a
message of the form ``"<name> must be <rule>; received <name>=<value>"``, so a user sees which
argument was wrong and what it was. Layers, models, data modules and tasks all call these; none
writes its own range check for a kind of argument listed here.

>>> check_positive_int("hidden_size", 16)
16
>>> check_positive_int("hidden_size", 0)
Traceback (most recent call last):
...
ValueError: hidden_size must be a positive integer; received hidden_size=0
"""

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
        raise ValueError(f"{name} must be an int or a sequence of {length} ints; received {name}={value!r}")
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


def check_non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer >= 0, else raise ValueError naming it.

    >>> check_non_negative_int("num_workers", 0)
    0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0; received {name}={value!r}")
    return int(value)


def check_positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number > 0, else raise ValueError naming it.

    >>> check_positive_float("lr", 1e-3)
    0.001
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a number > 0; received {name}={value!r}")
    return float(value)


def check_fraction(name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies in ``[0, 1)``, else raise ValueError naming it.

    This is the one range for every fraction of a dataset (``val_fraction``, ``test_fraction``):
    0 means "none", and 1 is refused because it would leave nothing to train on.

    >>> check_fraction("val_fraction", 0.2)
    0.2
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1); received {name}={value!r}")
    return float(value)


def check_probability(name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies in ``[0, 1]`` (a rate such as teacher forcing).

    >>> check_probability("teacher_forcing", 1)
    1.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1]; received {name}={value!r}")
    return float(value)


def check_dropout(value: Any, name: str = "dropout") -> float:
    """Return a dropout probability in ``[0, 1)`` (1 would zero every activation).

    >>> check_dropout(0.5)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1); received {name}={value!r}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (not 0/1 or a string), else raise ValueError.

    >>> check_bool("normalize", True)
    True
    """
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; received {name}={value!r}")
    return value


class InputError(ValueError):
    """A value a user gave (an argument, a file, a field in a file) that cannot be used.

    ``field`` names the argument it came from (``"root"``, ``"val_fraction"``) when there is one.
    The library's message talks about values; the command line adds the flag name
    (``--data.root``) from ``field`` when it shows the error.

    >>> err = InputError("no videos under 'clips/'", field="root")
    >>> (str(err), err.field)
    ("no videos under 'clips/'", 'root')
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
