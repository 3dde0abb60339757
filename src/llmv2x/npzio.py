"""Reading ``.npz`` containers safely: every entry's header is checked before any is read.

Shared by the instance and the result containers. A hostile archive cannot run code
(``allow_pickle=False``, object arrays refused) nor make us allocate what it does not hold:
a header declaring more bytes than its entry holds, entries of one group whose lengths
disagree (a compressed column of 4e8 zeros beside columns of 20), or a total above half
this machine's memory are refused before NumPy reads an array.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from llmv2x.errors import LlmV2xError


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 34


def _headers(zf: zipfile.ZipFile, what: str, error: type[LlmV2xError]) -> dict[str, tuple]:
    """name -> (shape, dtype, declared bytes) of every ``.npy`` entry, read from headers only."""
    out = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise error(f"{info.filename}: not a NumPy array entry in {what}")
        name = info.filename[: -len(".npy")]
        with zf.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            read = {(1, 0): np.lib.format.read_array_header_1_0}.get(
                version, np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(fh)
            header = fh.tell()
        if dtype.hasobject:
            raise error(f"{name}: holds pickled Python objects in {what}; refused")
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared > info.file_size - header:
            raise error(
                f"{name}: its header declares shape {shape} ({declared} bytes), the entry "
                f"holds {info.file_size - header} bytes, in {what}"
            )
        out[name] = (shape, dtype, declared)
    return out


def read_entries(
    path: str | Path,
    what: str,
    error: type[LlmV2xError],
    group_of: Callable[[str], str | None],
) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path`` (a ``what`` such as "instance file").

    ``group_of(name)`` names the group whose entries must all have one length (e.g.
    "vehicles" for every per-vehicle column), or None for an entry of its own. Raises
    ``error`` in one line for anything that is not a plain ``.npz`` of numeric or string
    arrays, before reading any array when the headers already disprove the file.
    """
    p = Path(path)
    where = f"{what} {p}"
    if not zipfile.is_zipfile(p):
        with open(p, "rb") as fh:
            single = fh.read(6) == b"\x93NUMPY"
        if single:
            raise error(f"{p}: a single .npy array, not a .npz archive ({what})")
        raise error(f"{p}: not a .npz archive ({what}): not a zip file")
    try:
        with zipfile.ZipFile(p) as zf:
            heads = _headers(zf, where, error)
            lengths: dict[str, Counter] = {}
            for name, (shape, _, _) in heads.items():
                group = group_of(name)
                if group is not None and len(shape) == 1:
                    lengths.setdefault(group, Counter())[shape[0]] += 1
            for name, (shape, _, _) in heads.items():
                group = group_of(name)
                if group is None or len(shape) != 1:
                    continue
                common, _ = lengths[group].most_common(1)[0]
                if shape[0] != common:
                    raise error(
                        f"{name}: {shape[0]} entries where the other {group} entries have "
                        f"{common}, in {where}"
                    )
            total = sum(d for _, _, d in heads.values())
            if total > _memory_bytes() // 2:
                raise error(
                    f"{p}: its arrays declare {total / 2**30:.1f} GiB, more than half this "
                    "machine's memory"
                )
        archive = np.load(p, allow_pickle=False)
        with archive:
            return {name: archive[name] for name in archive.files}
    except LlmV2xError:
        raise
    except MemoryError:
        raise error(f"{p}: too large to read") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise error(f"{p}: cannot read a .npz archive ({what}): {_one_line(exc)}") from None
