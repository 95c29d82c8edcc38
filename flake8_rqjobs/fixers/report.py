"""Plain data that crosses process boundaries: options in, manual fixes out (no libcst)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, Optional, Tuple


@dataclass(frozen=True)
class ManualFix:
    """A site left for a human: where, which rule, and why it was not rewritten.

    ``reason`` may refer to other lines of the file as ``{0}``, ``{1}``...: their numbers are
    in ``related`` and move with the file when it is rewritten (:attr:`text` fills them in)."""

    line: int
    code: str
    reason: str
    related: Tuple[int, ...] = ()
    # (line, related) in the fixed text, when the fix knows them exactly (its last pass)
    after: Optional[Tuple[int, Tuple[int, ...]]] = field(default=None, compare=False)

    @property
    def text(self) -> str:
        return self.reason.format(*self.related) if self.related else self.reason


@dataclass(frozen=True)
class Options:
    """Command-line choices that are not configuration."""

    select: Tuple[str, ...]
    deprecate_definitions: bool = False
    # module-level names that other files import: never removed, even when unused here
    keep_names: FrozenSet[str] = frozenset()
    # the URL the wrapper's get_redis() falls back to (None: read from the wrapper module)
    wrapper_default_url: Optional[str] = None
