"""User errors of the command line, and how any error is shown: one line, with a hint.

Library code raises errors about values (``InputError(..., field="root")``); :func:`error_text`
adds the flag the user typed (``--data.root``) and, for a mistyped ``--trainer.X``, the closest
Trainer argument.
"""

from __future__ import annotations

import difflib
import inspect
import re
import sys
from collections.abc import Callable

from cnnlstm._io import one_line
from cnnlstm._validation import InputError

__all__ = ["CLIError", "error_text", "guarded"]


class CLIError(Exception):
    """A user error: printed as one line, exit code 2."""


def error_text(err: BaseException) -> str:
    """``err`` as the one line the command prints after ``error:``."""
    text = one_line(err) or type(err).__name__
    from_data = re.search(r"class_path '?=?'?cnnlstm\.data\.|cnnlstm\.data\.base\.BaseDataModule", text)
    # jsonargparse reports a failed subclass as "Does not validate against any of the Union
    # subtypes ... Errors: - <the real error> - Expected a <class 'NoneType'> ...": keep the real one.
    if "Errors: - " in text:
        text = text.split("Errors: - ", 1)[1].split(" - Expected a <class 'NoneType'>", 1)[0]
    text = re.sub(r"^Problem with given class_path '[\w.]+': ", "", text)
    field = getattr(_input_error(err), "field", None)
    if field is None and from_data:
        # A data module's argument check ("batch_size must be ...; received batch_size=0").
        named = re.match(r"^(\w+) must .*; received \1=", text)
        field = named.group(1) if named else None
    if field and f"--data.{field}" not in text:
        text = f"--data.{field}: {text}"
    return text + _trainer_option_hint(text)


def _input_error(err: BaseException) -> InputError | None:
    """The :class:`InputError` behind ``err`` (jsonargparse wraps errors raised by constructors)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, InputError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _trainer_option_hint(text: str) -> str:
    """Suggest the closest Trainer argument for a mistyped ``--trainer.X`` option."""
    match = re.search(r"trainer\.(\w+)", text)
    if not match or ("unrecognized" not in text and "not accept" not in text):
        return ""
    from lightning.pytorch import Trainer

    names = [n for n in inspect.signature(Trainer.__init__).parameters if n != "self"]
    close = difflib.get_close_matches(match.group(1), names, n=1)
    return f"; did you mean --trainer.{close[0]}?" if close else ""


def guarded(run: Callable[[], int], *, debug: bool = False) -> int:
    """Run a command; turn any error into one line on stderr and an exit code.

    Exit codes: the command's own, 2 for a user error, 1 for a non-finite loss, 130 when
    interrupted. ``debug`` re-raises instead, so the traceback shows.
    """
    try:
        return run()
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one line for the user; --debug shows the traceback
        if debug:
            raise
        from cnnlstm.tasks.base import NonFiniteLossError

        print(f"error: {error_text(err)}", file=sys.stderr)
        return 1 if isinstance(err, NonFiniteLossError) else 2
