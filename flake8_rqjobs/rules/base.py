"""What every rule is made of, and what the linter hands on: sites with their facts.

A rule family module (``rules/<family>.py``) defines its :class:`Rule` objects (code, message,
docs, VALID/INVALID examples, trigger words, fix summary and fix safety), its tables (which
constructors, methods, names the family is about), the typed facts its sites carry, and a
``FAMILY = Family(...)`` with a ``check_call(ctx, call, callee)`` hook that the checker's single
visitor calls for every ``ast.Call`` (and optionally ``value_kind(ctx, expr)``, which tells the
visitor what an assignment binds). The fixer of the same family (``fixers/<family>.py``)
imports the family's tables and facts; it never resolves a name on its own.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Set,
    Tuple,
)

from flake8_rqjobs.config import Config
from flake8_rqjobs.names import Span as Span  # re-exported: a site's span


# --- examples ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    """A code sample that is both a lint test and a fix test (Fixit's VALID/INVALID style).

    ``filename`` is where the sample is written (relative to a fresh project root; it
    matters for wrapper and scheduler paths), ``options`` are ``[tool.rqjobs]`` settings for
    that project, ``lines`` the report lines an INVALID sample must produce for its rule
    (empty: at least one anywhere), ``also`` other codes the sample legitimately triggers.

    An INVALID sample also runs through ``fix``: ``expected_replacement`` is the whole fixed
    file (``None``: the file stays as it is), and ``manual`` is a part of the specific reason
    ``fix`` must give for each site of the rule that it leaves to a human (``None``: every
    site of the rule is fixed).

    ``files``: other modules of the example's project (path -> text) whose project-wide
    facts decide the answer (:mod:`flake8_rqjobs.facts`); written next to the sample, they
    must hold no finding themselves (they usually are wrapper modules).
    """

    code: str
    filename: str = "app/tasks.py"
    options: Mapping[str, object] = field(default_factory=dict)
    lines: Tuple[int, ...] = ()
    also: Tuple[str, ...] = ()
    expected_replacement: Optional[str] = None
    manual: Optional[str] = None
    files: Mapping[str, str] = field(default_factory=dict)


def Valid(code: str, **kwargs: object) -> Example:  # noqa: N802 - Fixit's spelling
    return Example(code=code, **kwargs)  # type: ignore[arg-type]


def Invalid(code: str, **kwargs: object) -> Example:  # noqa: N802 - Fixit's spelling
    return Example(code=code, **kwargs)  # type: ignore[arg-type]


# --- rules ------------------------------------------------------------------------------
class FixAvailability(Enum):
    """Whether ``flake8-rqjobs fix`` rewrites a rule's sites (ruff's "Fix availability")."""

    SOMETIMES = "Fix is sometimes available."
    NEVER = "Fix is never available: every site is listed as a manual fix with its reason."


@dataclass(frozen=True)
class Trigger:
    """A word without which a rule cannot fire on a file: the prefilters of ``check``, the
    flake8 plugin and ``fix`` are built from the rules' triggers. ``import_name``: the word is
    a module that a *fixable* site must import, so ``fix`` may ask for it as a whole word."""

    word: str
    import_name: bool = False


@dataclass(frozen=True, eq=False)
class Rule:
    """One RQJ rule. ``message`` is a ``str.format`` template (fields vary per rule; the
    checker always supplies ``wrapper``, the configured wrapper module); ``sample`` holds
    example fields for the ``explain`` page. ``fix`` is the one-line summary of the rewrite
    and ``fix_safety`` the ``## Fix`` section of the docs page: what is rewritten, and when
    the fixer declines. ``config_triggers`` adds trigger words taken from the configuration
    (``""`` when a configured pattern can match any text); ``scheduler_paths``: the rule also
    runs on every file under ``scheduler-paths`` whatever its text."""

    code: str
    summary: str
    message: str
    doc: str
    sample: Mapping[str, object]
    triggers: Tuple[Trigger, ...]
    fix: str
    fix_safety: str
    fix_availability: FixAvailability = FixAvailability.SOMETIMES
    config_triggers: Optional[Callable[[Config], Iterable[str]]] = None
    scheduler_paths: bool = False
    valid: Tuple[Example, ...] = ()
    invalid: Tuple[Example, ...] = ()

    def format(self, **fields: object) -> str:
        return f"{self.code} " + self.message.format(**fields)

    def trigger_words(self, config: Config) -> Tuple[str, ...]:
        words = [t.word for t in self.triggers]
        if self.config_triggers is not None:
            words += list(self.config_triggers(config))
        return tuple(words)


def pattern_words(patterns: Iterable[str]) -> Tuple[str, ...]:
    """The longest literal chunk of each glob (``start_*_scheduler`` -> ``_scheduler``); ``""``
    for a pattern such as ``*`` that can match any name."""
    words = []
    for pattern in patterns:
        chunks = [c for c in re.split(r"[*?\[\]]", pattern) if c]
        words.append(max(chunks, key=len) if chunks else "")
    return tuple(words)


# --- sites ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Facts:
    """What a rule established about a site; each family subclasses it (a small frozen
    dataclass), and its fixer reads it instead of looking at the code again."""


@dataclass(frozen=True)
class Site:
    """One finding: the rule's code, the exact span, the message, the resolved callee (the
    canonical qualified name of the called function, when it resolves) and the facts."""

    code: str
    span: Span
    message: str
    callee: Optional[str] = None
    facts: Optional[Facts] = None

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    @property
    def sort_key(self) -> Tuple[int, int, str, str]:
        return (self.span.line, self.span.col, self.code, self.message)


@dataclass(frozen=True)
class EventSource:
    """Where the code being visited runs, for RQJ300 (:func:`flake8_rqjobs.rules.dedupe.
    event_source`): ``event``, a receiver of deliveries (a webhook route, an ORM or signal
    listener: every enqueue in it is an event enqueue); ``body``, an HTTP handler that may
    receive deliveries (an enqueue whose arguments come from the request body is one);
    ``request_names`` and ``body_names``, its parameters that are the request and the parsed
    body (a FastAPI body model); ``route``: the route path names a webhook or a callback
    (the rule's first shape, which a deterministic ``job_id`` alone does not silence);
    ``http``: an HTTP handler of any method, GET routes too (RQJ005: web code)."""

    event: bool
    body: bool = False
    request_names: FrozenSet[str] = frozenset()
    body_names: FrozenSet[str] = frozenset()
    route: bool = False
    http: bool = True  # any HTTP handler (GET routes too): web code


class Context(Protocol):
    """What the checker's visitor offers to the rule hooks. ``functions``: the names of the
    enclosing ``def``s and classes, outermost first; ``loop_values``: the variables of the
    enclosing ``for`` loops and what each iterates over; ``state``: per-file scratch space of
    the families (keyed by family name), read again by their ``finish`` hooks."""

    config: Config
    event_job_defs: Set[str]
    loop_depth: int
    event_source: Optional[EventSource]
    functions: List[str]
    loop_values: Dict[str, ast.AST]
    module: str
    state: Dict[str, Any]

    def resolve(self, expr: ast.AST) -> Optional[str]: ...

    def project_class(self, expr: ast.AST) -> Optional[str]: ...

    def project_object(self, expr: ast.AST) -> Optional[Tuple[str, Optional[str], str]]: ...

    def project_event_job(self, expr: ast.AST) -> bool: ...

    def rq_job(self, expr: ast.AST) -> bool: ...

    def binding_of(self, expr: ast.AST) -> Optional[str]: ...

    def value_of(self, expr: ast.AST) -> Optional[ast.AST]: ...

    def owner_is_function(self, name: str) -> bool: ...

    def in_scheduler_code(self) -> bool: ...

    def coroutine(self) -> Optional[str]: ...

    def number(self, expr: ast.AST) -> Optional[float]: ...

    def report(
        self,
        node: ast.AST,
        rule: Rule,
        facts: Optional[Facts] = None,
        callee: Optional[str] = None,
        **fields: object,
    ) -> None: ...


CallCheck = Callable[[Context, ast.Call, Optional[str]], None]
ValueKind = Callable[[Context, ast.AST], Optional[str]]
Finish = Callable[[Context], None]
WithCheck = Callable[[Context, ast.AST], None]  # the context expression of a plain ``with``


@dataclass(frozen=True, eq=False)
class Family:
    """A rule family: ``rules/<name>.py``, ``fixers/<name>.py`` and
    ``tests/fixers/examples/<name>/`` share ``name``."""

    name: str
    rules: Tuple[Rule, ...]
    check_call: CallCheck
    value_kind: Optional[ValueKind] = None
    finish: Optional[Finish] = None  # after the whole file: sites decided by what came later
    check_with: Optional[WithCheck] = None  # each context expression of a (sync) ``with``


# --- small AST helpers ------------------------------------------------------------------
def terminal_name(expr: ast.AST) -> Optional[str]:
    """``f`` for ``f``, ``c`` for ``a.b.c``, else ``None``."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def spelled(expr: ast.AST) -> str:
    """How the user wrote a callee, for messages: ``r.Redis.from_url``."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    elif isinstance(expr, ast.Call):
        inner = spelled(expr.func)
        parts.append(f"{inner}(...)")
    else:
        parts.append("...")
    return ".".join(reversed(parts))


def keyword(call: ast.Call, name: str) -> Optional[ast.keyword]:
    for kw in call.keywords:
        if kw.arg == name:
            return kw
    return None


def has_star_kwargs(call: ast.Call) -> bool:
    return any(kw.arg is None for kw in call.keywords)


def has_star_args(call: ast.Call) -> bool:
    return any(isinstance(arg, ast.Starred) for arg in call.args)


def string_value(expr: Optional[ast.AST]) -> Optional[str]:
    """The value of a plain string literal, else ``None``."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


def is_none(expr: Optional[ast.AST]) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None
