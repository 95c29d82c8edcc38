"""Reading and writing a source file byte for byte: encoding, BOM and line endings kept.

The codemods work on text. :func:`decode` finds the file's encoding the way Python does
(PEP 263 cookie or BOM, UTF-8 by default) and remembers whether a BOM was there;
:func:`encode` turns fixed text back into bytes the same way. Line endings are never touched:
libcst keeps them, and :func:`round_trips` refuses any file that libcst would not print back
exactly. :func:`project_files` lists the project's other files (their importers).
"""

from __future__ import annotations

import codecs
import io
import os
import tokenize
from dataclasses import dataclass
from typing import List, Sequence


@dataclass(frozen=True)
class Decoded:
    """The text of a file and what is needed to write it back identically."""

    text: str
    encoding: str
    bom: bool


def decode(data: bytes) -> Decoded:
    """Decode ``data`` as Python source. Raises ``SyntaxError``/``UnicodeDecodeError`` when
    the bytes are not valid source in the declared encoding (the caller skips the file)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8) :]
        encoding = "utf-8"
    text = data.decode(encoding)
    return Decoded(text=text, encoding=encoding, bom=bom)


def encode(text: str, decoded: Decoded) -> bytes:
    """``text`` in the original encoding, with the original BOM."""
    data = text.encode(decoded.encoding)
    return codecs.BOM_UTF8 + data if decoded.bom else data


def project_files(root: str, given: Sequence[str]) -> List[str]:
    """Every Python file of the project at ``root`` (the configuration's root: the
    pyproject's folder, else the working directory) that is not in ``given``: the importers
    a run over some files (pre-commit's staged files) must see too. Hidden, cache and
    installed-package folders and virtualenvs are skipped, as the project facts skip them."""
    from flake8_rqjobs.facts import MAX_FILES
    from flake8_rqjobs.facts import SKIP_DIRS as FACT_SKIP_DIRS

    seen = {os.path.abspath(path) for path in given}
    found: List[str] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".")
            and d not in FACT_SKIP_DIRS
            and not os.path.exists(os.path.join(directory, d, "pyvenv.cfg"))
        )
        for name in sorted(names):
            path = os.path.join(directory, name)
            if name.endswith(".py") and os.path.abspath(path) not in seen:
                found.append(path)
                if len(found) > MAX_FILES:
                    return found
    return found
