"""Result files on disk: JSON text or the ``.npz`` container, chosen by the file's extension.

* ``*.npz`` (any case): the binary container of docs/result-format.md#binary: the five
  per-vehicle arrays as NumPy arrays, every other field in one JSON string entry ``meta``.
  Read with ``allow_pickle=False``; an entry holding Python objects is refused in one line.
* anything else: result JSON. One field per line; each per-vehicle array on one line,
  written by the C encoder (``json.dumps`` of a list), never value by value in Python.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from llmv2x.errors import LlmV2xError, ResultError
from llmv2x.jsonio import dumps_strict, loads_strict, write_atomic
from llmv2x.results.parse import ARRAYS

#: the extension of the binary container (the same rule as instance files)
BINARY_SUFFIX = ".npz"
#: the ``.npz`` entry holding every field that is not a per-vehicle array, as JSON text
META = "meta"
#: the optional integer array of format 2
ASSOCIATION = "association"


def is_binary_path(path: str | Path) -> bool:
    """True when ``path`` names the binary container: its extension is ``.npz`` (any case)."""
    return Path(path).suffix.lower() == BINARY_SUFFIX


def check_readable(path: str | Path) -> Path:
    """``path`` as a Path when it is a regular file, else ResultError saying what it is."""
    p = Path(path)
    if p.is_dir():
        raise ResultError(f"{path} is a directory, not a result file")
    if p.exists() and not p.is_file():
        raise ResultError(f"{path} is not a regular file (a device, FIFO or socket)")
    if not p.is_file():
        raise ResultError(f"{path}: no such result file")
    return p


def json_text(d: dict[str, Any], what: str) -> str:
    """Result JSON text of a result dictionary whose arrays may be NumPy arrays.

    Small values are laid out as ``json.dumps(indent=1)`` would; each array goes on one line
    (``[1, 1, 32]``). A NaN or infinity anywhere is an LlmV2xError, never a non-JSON token.
    """
    lines = []
    for key, value in d.items():
        if key in ARRAYS:
            body = dumps_strict(_plain_list(value, key == "alpha"), what, indent=None)
        elif key == "problem":
            body = dumps_strict(value, what, indent=None)
        elif key == "association" and value is not None:
            body = dumps_strict(np.asarray(value, np.int64).tolist(), what, indent=None)
        else:
            body = dumps_strict(value, what, indent=1).replace("\n", "\n ")
        lines.append(f" {json.dumps(key)}: {body}")
    return "{\n" + ",\n".join(lines) + "\n}"


def _plain_list(a: Any, integral: bool) -> list[Any]:
    """A list of Python numbers (``tolist`` runs in C); an integral alpha as integers."""
    a = _stored("alpha", a) if integral else np.asarray(a, np.float64)
    return a.tolist()


def write_npz(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write the binary container atomically (a whole file or nothing)."""
    text = dumps_strict(meta, f"result {path}", indent=None)
    for key, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise LlmV2xError(f"result {path}: {key} holds a NaN or infinite value")
    buffer = io.BytesIO()
    np.savez(buffer, **{k: _stored(k, a) for k, a in arrays.items()}, **{META: np.array(text)})
    write_atomic(path, buffer.getvalue())


def _stored(key: str, a: np.ndarray) -> np.ndarray:
    """alpha as int64 when every entry is an integer (it always is in a verified result)."""
    if key == "association":
        return np.asarray(a, np.int64)
    a = np.asarray(a, np.float64)
    if key == "alpha" and np.all(a == np.round(a)) and np.all(np.abs(a) < 2.0**53):
        return a.astype(np.int64)  # NaN fails a == round(a): written as float, refused there
    return a


def read_npz(path: str | Path) -> dict[str, Any]:
    """The result dictionary stored in a ``.npz`` container; checked by the caller.

    Refused in one line (ResultError): a file that is not a ``.npz`` archive, an entry
    holding pickled Python objects, a missing or unknown entry, an array that is not a 1-d
    array of numbers, a ``meta`` that is not a JSON object of the other fields.
    """
    from llmv2x.npzio import read_entries

    p = check_readable(path)
    entries = read_entries(p, "result file", ResultError, _group)
    names = set(entries)
    for name in sorted(names - {*ARRAYS, ASSOCIATION, META}):
        raise ResultError(f"{name}: unknown entry in result file {path}{_hint(name)}")
    for name in (*ARRAYS, META):
        if name not in names:
            raise ResultError(f"{name}: missing array in result file {path}")
    d: dict[str, Any] = {name: entries[name] for name in ARRAYS}
    if ASSOCIATION in names:  # format 2 (format 1 has none)
        d[ASSOCIATION] = entries[ASSOCIATION]
    meta = entries[META]
    if meta.dtype.kind != "U" or meta.ndim != 0:
        raise ResultError(f"{META}: expected one string of JSON in result file {path}")
    fields = loads_strict(str(meta[()]), f"{META} of result file {path}", ResultError)
    if not isinstance(fields, dict):
        raise ResultError(f"{META}: expected a JSON object in result file {path}")
    for key, value in fields.items():
        if key in d:
            raise ResultError(f"{key}: both an array and a {META} field in result file {path}")
        d[key] = value
    return d


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _group(name: str) -> str | None:
    return "vehicles" if name in (*ARRAYS, ASSOCIATION) else None


def _hint(name: str) -> str:
    if name.startswith(("vehicles.", "rsus.", "links.")):
        return " (this looks like an instance file, not a result file)"
    return ""
