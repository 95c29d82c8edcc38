"""The check command's strict prefilter: which files can hold a finding at all.

The plugin's prefilter (:func:`flake8_rqjobs.checker.needs_check`) asks for any trigger word
anywhere in the text (``redis`` in a URL string, ``enqueue`` in ``asyncio``'s code). This one
asks, per rule and from the rules' declared :class:`~flake8_rqjobs.rules.base.Trigger` words,
for what the rule cannot fire without, and says "parse" whenever it cannot rule a file out:

- an ``import_name`` trigger (``redis``: RQJ001, ``rq``: RQJ002): the names resolve only
  through imports (:mod:`flake8_rqjobs.names`), so the word must be on a line that says
  ``import`` (or the file lives in a package of that name, or uses ``from . import`` or a
  backslash continuation, when any occurrence counts);
- ``cheduler`` (RQJ200/RQJ201): scheduler code, i.e. a ``scheduler-paths`` file or a
  ``def`` or ``class`` whose name contains "scheduler" (any case);
- RQJ100: an identifier matching one of the ``deprecated`` globs;
- ``enqueue``, ``schedule_job`` (RQJ003/RQJ300/RQJ301/RQJ400): an enqueue on something
  known to be a queue or the wrapper's ``enqueue``: besides the word, the file needs an ``rq``
  import, a configured queue factory's name, or the wrapper module's name;
- ``rq`` (RQJ004/RQJ005): an ``rq`` import, or one of django-rq and rq-scheduler (their
  ``@job``'s ``.delay()``, schedulers and ``get_worker()`` also count for RQJ003/RQJ300);
- ``get_queue_stats``, ``health_report``, ``get_redis`` (RQJ400): the word and the wrapper
  module's name (a Redis client built here needs a ``redis`` import, see RQJ001).

When the rules change (a code or a trigger this module does not know), :func:`needs_parse`
falls back to the plugin's prefilter, so a new rule is never filtered out by mistake. A test
checks that every file this filter rejects has no finding (rule examples, ``tests/corpus``,
the standard library).
"""

from __future__ import annotations

import functools
import os
import re
from typing import Dict, Optional, Pattern, Tuple

from flake8_rqjobs.checker import (
    _PATH_RULES,
    might_violate,
    prefilter_tokens,
    uses_project_facts,
)
from flake8_rqjobs.config import Config
from flake8_rqjobs.rules import ALL_RULES

# code -> the trigger words this filter was written for.
KNOWN_TRIGGERS: Dict[str, Tuple[str, ...]] = {
    "RQJ001": ("redis",),
    "RQJ002": ("rq",),
    "RQJ003": ("enqueue", "schedule_job"),
    "RQJ004": ("rq",),
    "RQJ005": ("rq",),
    "RQJ100": (),
    "RQJ200": ("cheduler",),
    "RQJ201": ("cheduler",),
    "RQJ300": ("enqueue",),
    "RQJ301": ("enqueue",),
    "RQJ400": ("enqueue", "get_queue_stats", "health_report", "get_redis"),
}

# Packages that enqueue or run workers for RQ without an ``rq`` import in the file.
RQ_COMPANIONS = ("django_rq", "rq_scheduler")
_IMPORT_WORD = re.compile(r"\bimport\b")
_RELATIVE_FROM = re.compile(r"\bfrom[ \t]+\.+[ \t]*import\b")
_SCHEDULER_WORD = re.compile("scheduler", re.IGNORECASE)
_DEF_BEFORE = re.compile(r"(?<![\w.])(?:def|class)[\s\\]+\w*\Z")


def strict_available() -> bool:
    """True while the rules are the ones this filter knows."""
    declared = {rule.code: tuple(t.word for t in rule.triggers) for rule in ALL_RULES}
    return declared == KNOWN_TRIGGERS


_STRICT = strict_available()


def _glob_identifier(pattern: str) -> Optional[str]:
    """A regex matching a whole identifier that the glob matches (``*`` -> ``\\w*``);
    ``None`` for a glob with a character class."""
    if "[" in pattern or "]" in pattern:
        return None
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(r"\w*")
        elif char == "?":
            parts.append(r"\w")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


class _Plan:
    """The compiled pieces of :func:`needs_parse` for one configuration."""

    def __init__(self, config: Config) -> None:
        self.loose_all = prefilter_tokens(config) == ("",)
        globs = [_glob_identifier(p) for p in config.deprecated]
        self.deprecated: Optional[Pattern[str]] = None
        self.deprecated_loose = any(g is None for g in globs)
        # A substring each identifier the globs match contains (the glob's longest literal
        # chunk): the regex (slow: it cannot skip ahead) runs only when one is in the text.
        self.deprecated_chunks: Optional[Tuple[str, ...]] = None
        if globs and not self.deprecated_loose:
            alternatives = "|".join(f"(?:{g})" for g in globs if g is not None)
            self.deprecated = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
            chunks = [max(re.split(r"[*?]", p), key=len) for p in config.deprecated]
            if all(chunks):
                self.deprecated_chunks = tuple(sorted(set(chunks)))
        # Queue factories: a dotted one must be imported (its first component), a bare name
        # must be written in the file.
        self.factory_imports = tuple(
            sorted({p.split(".", 1)[0] for p in config.queue_factories if "." in p})
        )
        self.factory_names = tuple(sorted({p for p in config.queue_factories if "." not in p}))
        # Third-party Redis client constructors (RQJ001): their module must be imported.
        self.client_imports = tuple(
            sorted({c.split(".", 1)[0] for c in config.client_constructors})
        )
        # The wrapper's enqueue: some identifier of the wrapper module's name must be in
        # the file or in its path (a relative import).
        pieces = {"rqjobs", config.wrapper_module.split(".", 1)[0]}
        self.wrapper_any = False
        for pattern in config.wrapper_modules:
            dotted = pattern[:-3] if pattern.endswith(".py") else pattern
            chunks = [c for c in re.split(r"[*?\[\]/.]", dotted) if c and c != "__init__"]
            if not chunks:
                self.wrapper_any = True
            else:
                pieces.add(max(chunks, key=len))
        self.wrapper_pieces = tuple(sorted(pieces))


@functools.lru_cache(maxsize=64)
def _plan(config: Config) -> _Plan:
    return _Plan(config)


@functools.lru_cache(maxsize=64)
def _word(word: str) -> Pattern[str]:
    return re.compile(rf"\b{re.escape(word)}\b")


def _may_hold(text: str, chunks: Optional[Tuple[str, ...]]) -> bool:
    if chunks is None:
        return True
    for chunk in chunks:
        if chunk in text:
            return True
    return False


def scheduler_function(text: str) -> bool:
    """Is there a ``def`` or ``class`` whose name contains "scheduler" (any case)?"""
    if text.isascii() and "scheduler" not in text.lower():
        return False  # (only ASCII text: the regex's case folding also maps "ſ" to "s")
    for match in _SCHEDULER_WORD.finditer(text):
        start = match.start()
        if _DEF_BEFORE.search(text, max(0, start - 1000), start):
            return True
    return False


@functools.lru_cache(maxsize=64)
def _path_chunks(patterns: Tuple[str, ...]) -> Optional[Tuple[str, ...]]:
    """Literal chunks one of which a path must contain to match one of ``patterns``
    (``None``: a pattern without any, such as ``*``)."""
    chunks = []
    for pattern in patterns:
        literal = [c for c in re.split(r"[*?\[\]/]", pattern) if c]
        if not literal:
            return None
        chunks.append(max(literal, key=len))
    return tuple(chunks)


def _may_match(absolute: str, patterns: Tuple[str, ...]) -> bool:
    # The root-relative path that the patterns are matched against is a suffix of the
    # absolute path (or the absolute path itself).
    chunks = _path_chunks(patterns)
    return chunks is None or any(chunk in absolute for chunk in chunks)


def is_sanctioned(filename: str, config: Config) -> bool:
    """``config.is_sanctioned`` with a substring shortcut (it costs a relpath per file)."""
    absolute = os.path.abspath(filename)
    if "rqjobs" not in absolute and not _may_match(absolute, config.wrapper_modules):
        return False
    return config.is_sanctioned(filename)


def is_scheduler_path(filename: str, config: Config) -> bool:
    if not _may_match(os.path.abspath(filename), config.scheduler_paths):
        return False
    return config.is_scheduler_path(filename)


def imported(text: str, word: str, relative: str) -> bool:
    """Can a name in this file resolve to something under the module ``word``?"""
    first = relative.split("/", 1)[0]
    if first in (word, word + ".py"):
        return True  # a package of that name: relative imports resolve into it
    pattern = _word(word)
    match = pattern.search(text)
    if match is None:
        return False
    if "\\\n" in text or "\\\r" in text or _RELATIVE_FROM.search(text):
        return True  # continuation lines or relative imports: any occurrence counts
    while match is not None:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        line = text[start : end if end >= 0 else len(text)]
        if _IMPORT_WORD.search(line):
            return True
        match = pattern.search(text, end if end >= 0 else len(text))
    return False


def needs_parse(text: str, filename: str, config: Config) -> bool:
    """False only when no rule can report anything in ``text`` (stricter than
    :func:`~flake8_rqjobs.checker.needs_check`, and never true where it is false)."""
    # The plugin's prefilter (checker.needs_check), with substring shortcuts.
    if is_sanctioned(filename, config):
        return False
    scheduler_path = _PATH_RULES and is_scheduler_path(filename, config)
    if not might_violate(text, config, filename) and not scheduler_path:
        return False
    plan = _plan(config)
    if not _STRICT or plan.loose_all or scheduler_path:
        return True  # (RQJ200/RQJ201 by path)
    if scheduler_function(text):
        return True  # RQJ200/RQJ201: a scheduler function
    if plan.deprecated_loose:
        return True
    if plan.deprecated is not None and _may_hold(text, plan.deprecated_chunks):
        if plan.deprecated.search(text):
            return True  # RQJ100
    relative = config.relative_path(filename)
    if "redis" in text and imported(text, "redis", relative):
        return True  # RQJ001 (and redis locks)
    if any(m in text and imported(text, m, relative) for m in plan.client_imports):
        return True  # RQJ001: a client-constructors function (django_rq.get_connection)
    has_rq = "rq" in text and imported(text, "rq", relative)
    if has_rq:
        return True  # RQJ002, and RQJ003/RQJ300 on rq.Queue objects
    if uses_project_facts(text, config, filename):
        return True  # a queue, class or job imported from another project module
    if any(m in text and imported(text, m, relative) for m in RQ_COMPANIONS):
        return True  # @job(...).delay(), rq-scheduler, django_rq.get_worker() (RQJ003/5, RQJ300)
    if "enqueue" not in text and "schedule_job" not in text:
        # RQJ400 also fires on the wrapper's get_queue_stats()/health_report()/get_redis().
        if all(word not in text for word in ("get_queue_stats", "health_report", "get_redis")):
            return False
        return plan.wrapper_any or any(p in text or p in relative for p in plan.wrapper_pieces)
    if any(name in text for name in plan.factory_names):
        return True
    if any(module in text and imported(text, module, relative) for module in plan.factory_imports):
        return True
    if plan.wrapper_any:
        return True
    return any(piece in text or piece in relative for piece in plan.wrapper_pieces)
