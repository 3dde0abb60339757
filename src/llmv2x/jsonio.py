"""Strict JSON in and out, and whole-file writes (docs/data-format.md, docs/result-format.md).

Instance and result files come from users, so reading them must never end in a traceback:
``loads_strict`` refuses duplicate keys, ``NaN``/``Infinity`` tokens, nesting deeper than
``MAX_DEPTH``, integers longer than ``MAX_INT_DIGITS`` digits and numbers that overflow a
double, each with one line naming where. ``dumps_strict`` never writes a token that is not
JSON, and ``write_atomic`` writes a whole file or nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from llmv2x.errors import LlmV2xError

#: Deepest nesting of ``[`` and ``{`` accepted; the formats need 3.
MAX_DEPTH = 64
#: Longest integer literal accepted (a 128-bit seed has 39 digits).
MAX_INT_DIGITS = 40

# Skips a run of characters that are neither quotes nor brackets in one step (possessive, so
# never re-scanned), then takes a string (its brackets do not count), a bracket (group 1), the
# quote of an unterminated string (group 2: not JSON, ``json`` says where) or the end of the
# text. Every attempt matches, so the scan is linear in the length of the text.
_TOKENS = re.compile(r'[^"\[\]{}]*+(?:"(?:[^"\\]|\\.)*+"|([\[\]{}])|(")|\Z)')


class _Refused:
    """Stands in for a value the parser refused, so the error can name its place."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, in JSON's words (for one-line errors): ``null``,
    ``true``/``false``, ``a number``, ``a string``, ``a list`` or ``an object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_depth(text: str, what: str, error: type[LlmV2xError]) -> None:
    """Refuse nesting deeper than MAX_DEPTH before ``json`` recurses into it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # cannot nest deeper than the number of opening brackets (a result file)
    depth = 0
    for match in _TOKENS.finditer(text):
        token, unterminated = match.groups()
        if unterminated:
            return
        if token is None:
            continue
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start(1)) + 1
                raise error(f"{what}: nested deeper than {MAX_DEPTH} levels at line {line}")
        else:
            depth -= 1


class _Hooks:
    """The parser's hooks for one ``loads_strict`` call; ``refused`` counts what they refused.

    Only these hooks make ``_Refused`` values, so when ``refused`` is 0 after parsing there is
    nothing to find and the walk over every value (a million numbers in a big result) is
    skipped.
    """

    def __init__(self) -> None:
        self.refused = 0

    def _refuse(self, reason: str) -> _Refused:
        self.refused += 1
        return _Refused(reason)

    def parse_int(self, s: str) -> Any:
        digits = len(s.lstrip("-"))
        if digits > MAX_INT_DIGITS:
            return self._refuse(f"integer of {digits} digits ({s[:12]}...) is too large")
        return int(s)

    def parse_float(self, s: str) -> Any:
        v = float(s)
        if not math.isfinite(v):
            return self._refuse(f"{s[:24]} overflows a double")
        return v

    def parse_constant(self, s: str) -> Any:
        return self._refuse(f"{s} is not finite (JSON has no NaN or Infinity)")

    def pairs(self, pairs: list[tuple[str, Any]]) -> Any:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                return self._refuse(f"duplicate key {key!r}")
            out[key] = value
        return out


def _find_refused(value: Any, path: str) -> tuple[str, _Refused] | None:
    """The first refused value and its path (``vehicles[3].kappa``); depth is bounded."""
    if isinstance(value, _Refused):
        return path, value
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_refused(item, f"{path}.{key}" if path else key)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_refused(item, f"{path}[{i}]")
            if found:
                return found
    return None


def loads_strict(text: str, what: str, error: type[LlmV2xError] = LlmV2xError) -> Any:
    """Parse JSON ``text`` of a ``what`` (e.g. ``"result file"``), refusing what is not plain data.

    Parameters
    ----------
    text : the JSON text.
    what : names the document in messages (``"duplicate key 'status' in result file"``).
    error : the LlmV2xError subclass to raise (InstanceError, ResultError, ...).

    Raises
    ------
    error
        one line: invalid JSON (with its line), nesting deeper than MAX_DEPTH, or, naming
        the field path, a duplicate key, a ``NaN``/``Infinity`` token, an integer longer
        than MAX_INT_DIGITS digits or a number that overflows a double.
    """
    _check_depth(text, what, error)
    hooks = _Hooks()
    try:
        data = json.loads(
            text,
            object_pairs_hook=hooks.pairs,
            parse_int=hooks.parse_int,
            parse_float=hooks.parse_float,
            parse_constant=hooks.parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise error(f"{what}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:  # the depth scan should make this unreachable
        raise error(f"{what}: nested too deeply") from None
    found = _find_refused(data, "") if hooks.refused else None
    if found:
        path, refused = found
        raise error(f"{path}: {refused.reason}" if path else f"{refused.reason} in {what}")
    return data


def dumps_strict(data: Any, what: str, indent: int | None = 1) -> str:
    """JSON text of ``data``; a NaN or infinity becomes an LlmV2xError, never a non-JSON token."""
    try:
        return json.dumps(data, indent=indent, allow_nan=False)
    except ValueError:
        raise LlmV2xError(f"{what}: a value is NaN or infinite, which JSON cannot hold") from None


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no other way to read it; restored at once
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then rename.

    ``text`` is written as text, or as is when it is ``bytes`` (a ``.npz`` container).

    The file gets the mode of the file it replaces, or ``0o666 & ~umask`` for a new one
    (what ``open(path, "w")`` would give). A symbolic link is followed: its target is
    replaced. A missing folder is an LlmV2xError naming it.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    folder = path.parent
    if not folder.is_dir():
        raise LlmV2xError(f"{path}: folder {folder} does not exist")
    if path.is_dir():
        raise LlmV2xError(f"{path} is a directory, not a file")
    if path.exists() and not path.is_file():
        raise LlmV2xError(f"{path} is not a regular file (a device, FIFO or socket)")
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
