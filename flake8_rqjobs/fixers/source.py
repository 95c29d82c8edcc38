"""Reading and writing a source file byte for byte: encoding, BOM and line endings kept.

The codemods work on text. :func:`decode` finds the file's encoding the way Python does
(PEP 263 cookie or BOM, UTF-8 by default) and remembers whether a BOM was there;
:func:`encode` turns fixed text back into bytes the same way. Line endings are never touched:
libcst keeps them, and :func:`round_trips` refuses any file that libcst would not print back
exactly.
"""

from __future__ import annotations

import codecs
import io
import tokenize
from dataclasses import dataclass


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
