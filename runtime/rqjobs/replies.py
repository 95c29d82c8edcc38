"""The one decoder of Redis replies: bytes as UTF-8 text, whatever ``decode_responses`` is."""

from __future__ import annotations

from typing import Any, Optional, overload

__all__ = ["text", "text_or_none"]


def text_or_none(value: Any) -> Optional[str]:
    """A reply as ``str`` (bytes decoded as UTF-8, bad bytes replaced); ``None`` kept."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@overload
def text(value: None) -> str: ...
@overload
def text(value: Any) -> str: ...
def text(value: Any) -> str:
    """A reply that is known to be there as ``str`` (``None`` becomes ``""``)."""
    decoded = text_or_none(value)
    return "" if decoded is None else decoded
