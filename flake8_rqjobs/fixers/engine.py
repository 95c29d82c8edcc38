"""Fix one file: prefilter, lint, parse, plan, apply, verify; never break the file.

Pipeline (the cheap steps first, so that a file without trigger names costs a substring
search and nothing else):

1. wrapper modules are never touched; bytes are decoded as Python does (BOM, cookie);
2. :func:`flake8_rqjobs.checker.needs_check` prefilter; then the linter (stdlib ``ast``) finds
   the violation sites, minus those silenced by ``# noqa``, and builds the file's scope model
   (:class:`flake8_rqjobs.names.FileModel`), which the fixers read as it is. A file that does
   not parse is reported and left byte-identical;
3. libcst parses only files with selected violations; any exception (``RecursionError``
   included) skips the file, and so does a file that libcst would not print back exactly
   (libcst 1.9 drops the space in ``except X :``);
4. the fixers plan, one pass applies the plan, imports are tidied;
5. the result must parse, compile if the original compiled, still bind every name it reads
   that the original bound, and the linter must report fewer violations of each fixed code
   by exactly the sites fixed; otherwise nothing is written and the file is reported;
6. steps 2-5 run again on the result until a pass changes nothing (:func:`fix_source`, at
   most :data:`MAX_PASSES`): one fix can unlock the next.
"""

from __future__ import annotations

import ast
import difflib
import functools
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

from flake8_rqjobs.checker import (
    check_source_file,
    needs_check,
    prefilter_tokens,
    uses_project_facts,
)
from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import REPORT_ONLY, family_of, fixer_module
from flake8_rqjobs.fixers.report import ManualFix, Options
from flake8_rqjobs.fixers.source import Decoded, decode, encode
from flake8_rqjobs.flake8_compat import drop_noqa
from flake8_rqjobs.names import BindingKind, FileModel
from flake8_rqjobs.rules import ALL_RULES, FAMILIES
from flake8_rqjobs.rules.base import Site

if TYPE_CHECKING:
    import libcst as cst

    from flake8_rqjobs.fixers.imports import Snapshot

# What a site gets when its fixer gave no answer: a fixer bug (the examples' tests fail on it).
UNANSWERED_REASON = "not a pattern the fixer can rewrite without changing behaviour"


@dataclass
class FileResult:
    """What happened to one file. ``new`` is set only when the file changes."""

    path: str
    new: Optional[bytes] = None
    old: Optional[bytes] = None
    fixes: Dict[str, int] = field(default_factory=dict)
    manual: List[ManualFix] = field(default_factory=list)
    skipped: Optional[str] = None  # left untouched, with the reason
    error: Optional[str] = None  # could not be read/written, or a fix failed verification
    removed_globals: Tuple[str, ...] = ()  # module-level variables the fix removed

    @property
    def changed(self) -> bool:
        return self.new is not None


@functools.lru_cache(maxsize=16)
def _fix_prefilter(config: Config) -> re.Pattern[str]:
    """The rules' trigger words, those that name a module a fixable site must import
    (:attr:`Trigger.import_name`: ``redis``, ``rq``) as whole words, so that
    ``redistribute`` or ``sqrt`` never need a parse; the rest as plain substrings."""
    if prefilter_tokens(config) == ("",):
        return re.compile("")
    whole = sorted({t.word for rule in ALL_RULES for t in rule.triggers if t.import_name})
    plain = sorted({w for rule in ALL_RULES for w in rule.trigger_words(config)} - set(whole))
    parts = [rf"\b(?:{'|'.join(map(re.escape, whole))})\b"] if whole else []
    return re.compile("|".join([*parts, *map(re.escape, plain)]))


@functools.lru_cache(maxsize=16)
def _tokens_bytes(config: Config) -> Tuple[bytes, ...]:
    return tuple(token.encode("utf-8") for token in prefilter_tokens(config))


@functools.lru_cache(maxsize=16)
def _scheduler_chunks(patterns: Tuple[str, ...]) -> Optional[Tuple[str, ...]]:
    chunks = []
    for pattern in patterns:
        literal = [c for c in re.split(r"[*?\[\]]", pattern) if c]
        if not literal:
            return None  # "*" matches every path
        chunks.append(max(literal, key=len))
    return tuple(chunks)


def is_scheduler_path(filename: str, config: Config) -> bool:
    """``config.is_scheduler_path`` with a substring shortcut (it costs a relpath per file)."""
    chunks = _scheduler_chunks(config.scheduler_paths)
    if chunks is not None and not any(chunk in filename for chunk in chunks):
        return False
    return config.is_scheduler_path(filename)


def might_need_fix(text: str, filename: str, config: Config) -> bool:
    """Cheap text check before any parsing: False means nothing in ``text`` can be fixed."""
    if not needs_check(text, filename, config):
        return False
    if _fix_prefilter(config).search(text) is not None or is_scheduler_path(filename, config):
        return True
    return uses_project_facts(text, config, filename)  # a queue or class from the project


_NEWLINES = re.compile(r"\r\n?|\n")
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


def _may_deprecate(text: str, config: Config, options: Options) -> bool:
    """--deprecate-definitions: does the text define a deprecated starter?"""
    if not options.deprecate_definitions or "RQJ100" not in options.select:
        return False
    from fnmatch import fnmatchcase

    return any(
        fnmatchcase(match.group(1), pattern)
        for match in _DEF.finditer(text)
        for pattern in config.deprecated
    )


def lint_file(
    text: str, filename: str, config: Config, select: Sequence[str]
) -> Tuple[List[Site], Optional[FileModel]]:
    """Selected, unsilenced sites and the file's scope model (raises ``SyntaxError`` when
    ``text`` does not parse)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes in old code
        checked = check_source_file(text, filename, config)
    violations = [v for v in checked.sites if v.code in select]
    if not violations:
        return violations, checked.model
    # noqa comments are honoured exactly as flake8 (and `flake8-rqjobs check`) honours them
    return drop_noqa(violations, text.splitlines(keepends=True)), checked.model


def lint(text: str, filename: str, config: Config, select: Sequence[str]) -> List[Site]:
    """Selected, unsilenced sites (raises ``SyntaxError`` when ``text`` does not parse)."""
    return lint_file(text, filename, config, select)[0]


def _compiles(text: str, filename: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True


@dataclass
class TextFix:
    """The outcome for one module's text."""

    new: Optional[str] = None  # None: unchanged
    fixes: Dict[str, int] = field(default_factory=dict)
    manual: List[ManualFix] = field(default_factory=list)
    skipped: Optional[str] = None
    removed_globals: Tuple[str, ...] = ()  # module-level variables the fix removed
    failed: bool = False  # a fixer failed (or its result failed verification): an error


MAX_PASSES = 5  # one fix can unlock the next (a client, then its queue, then its enqueues)


def fix_source(text: str, filename: str, config: Config, options: Options) -> TextFix:
    """Fix one module's text to a fixed point: the passes of :func:`fix_pass` run on their
    own output until one changes nothing (at most :data:`MAX_PASSES`), so a client rewritten
    to ``get_redis()`` lets the queue built on it become ``get_queue(...)`` in the same run,
    and that queue's ``.enqueue(...)`` the wrapper's ``enqueue``. Every pass is verified on
    its own; a pass that fails keeps the text of the passes before it. The manual fixes are
    those of the last pass, with the lines of ``text`` (:func:`write_result` moves them to
    the fixed file's)."""
    first = fix_pass(text, filename, config, options)
    if first.new is None or first.failed or first.skipped:
        return first
    current = first.new
    fixes: Counter = Counter(first.fixes)
    removed = set(first.removed_globals)
    manual, manual_text = first.manual, text
    for _ in range(MAX_PASSES - 1):
        step = fix_pass(current, filename, config, options)
        if step.failed or step.skipped:
            break
        manual, manual_text = step.manual, current
        if step.new is None:
            break
        fixes.update(step.fixes)
        removed |= set(step.removed_globals)
        current = step.new
    if manual_text != text:  # the manual fixes of a later pass: back to the text's lines
        manual = _first_lines(manual, manual_text, first.manual, text, manual_text == current)
    return TextFix(current, dict(fixes), manual, None, tuple(sorted(removed)))


def _first_lines(
    manual: List[ManualFix], later: str, first: List[ManualFix], text: str, final: bool
) -> List[ManualFix]:
    """The manual fixes of a later pass (on ``later``), with the lines of ``text``. Each
    was a manual fix of the first pass too (a pass fixes a site or answers it), and a fix
    never reorders code: per code, when the first pass left as many, they pair up in line
    order and each takes its first-pass line; otherwise a line maps back through the diff.
    When ``later`` is the fixed text (``final``), each keeps its own lines as ``after``."""
    placed: List[ManualFix] = []
    for code in sorted({item.code for item in manual}):
        mine = sorted((m for m in manual if m.code == code), key=lambda m: m.line)
        theirs = sorted((m for m in first if m.code == code), key=lambda m: m.line)
        if len(mine) != len(theirs):
            placed += remap_lines(mine, later, text)
            continue
        for item, match in zip(mine, theirs):
            if match.reason == item.reason:
                related = match.related
            else:
                related = remap_lines([item], later, text)[0].related
            after = (item.line, item.related) if final else None
            placed.append(ManualFix(match.line, code, item.reason, related, after))
    return sorted(set(placed), key=lambda m: (m.line, m.code, m.reason))


def fix_pass(text: str, filename: str, config: Config, options: Options) -> TextFix:
    """One pass over one module's text (see the module docstring for the steps)."""
    if not might_need_fix(text, filename, config):
        return TextFix()
    try:
        violations, model = lint_file(text, filename, config, options.select)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return TextFix(skipped=f"does not parse: {_short(exc)}")
    if not violations and not _may_deprecate(text, config, options):
        return TextFix()
    if violations and all(v.code in REPORT_ONLY for v in violations):
        return TextFix(manual=_report_only(violations))
    import libcst as cst  # imported here: files without violations never pay for it

    try:
        module = cst.parse_module(text)
        printed = module.code
    except Exception as exc:  # libcst raises many kinds, RecursionError too
        return TextFix(
            manual=_as_manual(violations, "file skipped"),
            skipped=f"libcst cannot parse it: {_short(exc)}",
        )
    if printed != text:
        return TextFix(
            manual=_as_manual(violations, "file skipped"),
            skipped="libcst does not print this file back exactly (a libcst bug); left untouched",
        )
    try:
        assert model is not None  # only a sanctioned file has none, and it never gets here
        return _fix_module(module, text, filename, config, options, violations, model)
    except Exception as exc:  # a fixer bug must never break the run
        return TextFix(
            manual=_as_manual(violations, "file skipped"),
            skipped=f"internal error: {_short(exc)}",
            failed=True,
        )


def _fix_module(
    module: cst.Module,
    text: str,
    filename: str,
    config: Config,
    options: Options,
    sites: List[Site],
    model: FileModel,
) -> TextFix:
    from flake8_rqjobs.fixers.base import FixContext
    from flake8_rqjobs.fixers.imports import add_wrapper_imports, remove_unused, wrapper_imports
    from flake8_rqjobs.fixers.plan import apply
    from flake8_rqjobs.fixers.positions import node_positions

    positions = node_positions(module)
    ctx = FixContext(
        module=module,
        model=model,
        positions=positions,
        config=config,
        filename=filename,
        options=options,
        sites=sites,
        source_lines=_NEWLINES.split(text),
    )
    for family in FAMILIES:
        if any(rule.code in options.select for rule in family.rules):
            fixer_module(family).analyse(ctx)
    for site in sites:
        if site not in ctx.fixes:
            ctx.manual(site, UNANSWERED_REASON)
    manual = ctx.manual_list()
    if not ctx.plan:
        return TextFix(manual=manual)
    fixed = apply(module, ctx.plan, positions.parents)
    wrapper_calls = {local for local in ctx.local_names.values() if local}
    wrapper_calls |= _imported_wrapper_calls(model, config)  # a pass after the first
    fixed, final_model = remove_unused(
        fixed,
        model,
        ctx.cleanup_names,
        wrapper_calls,
        functools.partial(_snapshot, filename=filename, config=config),
        options.keep_names,
    )
    used = final_model.refs_by_name if final_model is not None else {}
    needed = wrapper_imports(ctx.local_names, ctx.imports_needed)
    fixed = add_wrapper_imports(
        fixed,
        config.wrapper_module,
        {n: local for n, local in needed.items() if local in used},
        original=module,
    )
    new_text = fixed.code
    if new_text == text:
        return TextFix(manual=manual)
    problem = verify(text, new_text, filename, config, options, sites, ctx.fixes)
    if problem:
        raise RuntimeError(problem)
    fixes = Counter(site.code for site in ctx.fixes)
    fixes.update(code for code, _ in ctx.extra_fixes)
    return TextFix(new_text, dict(fixes), manual, None, _removed_globals(model, final_model))


# Wrapper functions whose call only builds (a client that connects on first use, a queue):
# an assignment of one that a fix leaves unused may go.
_BUILDERS = ("get_redis", "get_queue")


def _imported_wrapper_calls(model: FileModel, config: Config) -> Set[str]:
    """Local names of the wrapper's builders that the module already imports (a first pass
    wrote ``conn = get_redis()``; the next one rewrote the queue built on it)."""
    meanings = {
        f"{module}.{name}" for module in (config.wrapper_module, "rqjobs") for name in _BUILDERS
    }
    return {
        local
        for local, sites in model.module_scope.sites.items()
        if len(sites) == 1 and sites[0].kind is BindingKind.IMPORT and sites[0].meaning in meanings
    }


def _snapshot(module: cst.Module, filename: str, config: Config) -> Optional[Snapshot]:
    """The linter's model of a fixed module's text (``None`` when it does not parse)."""
    from flake8_rqjobs.fixers.imports import Snapshot
    from flake8_rqjobs.fixers.positions import node_positions

    text = module.code
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = check_source_file(text, filename, config).model
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if model is None:  # pragma: no cover - a sanctioned file is never fixed
        return None
    return Snapshot(module, model, node_positions(module), _NEWLINES.split(text))


def _removed_globals(before: FileModel, after: Optional[FileModel]) -> Tuple[str, ...]:
    """Module-level variables that a plain assignment bound and the fix removed."""
    bound = after.module_scope.sites if after is not None else {}
    return tuple(
        sorted(
            name
            for name, sites in before.module_scope.sites.items()
            if any(site.kind is BindingKind.ASSIGN for site in sites) and name not in bound
        )
    )


def verify(
    text: str,
    new_text: str,
    filename: str,
    config: Config,
    options: Options,
    sites: Sequence[Site],
    fixed: Set[Site],
) -> Optional[str]:
    """Why ``new_text`` must not be written, or None when it is safe: it parses, compiles if
    the original compiled, and every code has lost at least the sites that were fixed."""
    try:
        after = lint(new_text, filename, config, options.select)
    except SyntaxError as exc:
        return f"the fix does not parse ({_short(exc)})"
    if _compiles(text, filename) and not _compiles(new_text, filename):
        return "the fix does not compile"
    lost = _lost_bindings(text, new_text)
    if lost:
        return f"the fix removes the binding of {', '.join(lost)}, which is still read"
    before_counts = Counter(site.code for site in sites)
    after_counts = Counter(site.code for site in after)
    removed = Counter(site.code for site in fixed)
    for code, count in removed.items():
        if after_counts[code] > before_counts[code] - count:
            return f"{code} is still reported after the fix"
    return None


def _bound_and_read(text: str) -> Tuple[Set[str], Set[str]]:
    """Every name the module binds (any scope, any kind of binding) and every name it reads."""
    bound: Set[str] = set()
    read: Set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".", 1)[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif type(node).__name__ in ("MatchAs", "MatchStar") and getattr(node, "name", None):
            bound.add(node.name)  # type: ignore[attr-defined]
        elif type(node).__name__ == "MatchMapping" and getattr(node, "rest", None):
            bound.add(node.rest)  # type: ignore[attr-defined]
    return bound, read


def _lost_bindings(text: str, new_text: str) -> List[str]:
    """Names that the original bound and the fix still reads, but that nothing binds any
    more: code the fix removed bound them (``start_x_scheduler(n := 60)``), and the first
    read would raise ``NameError``."""
    try:
        old_bound, _ = _bound_and_read(text)
        new_bound, new_read = _bound_and_read(new_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return sorted((old_bound - new_bound) & new_read)


def _report_only(sites: List[Site]) -> List[ManualFix]:
    """Manual fixes for a file whose sites are all report-only (no libcst needed): each
    family's ``manual_reason(site)``."""
    manual = {
        ManualFix(site.line, site.code, fixer_module(family_of(site.code)).manual_reason(site))
        for site in sites
    }
    return sorted(manual, key=lambda m: (m.line, m.code, m.reason))


def _as_manual(sites: List[Site], reason: str) -> List[ManualFix]:
    return sorted(
        {ManualFix(v.line, v.code, reason) for v in sites}, key=lambda m: (m.line, m.code)
    )


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:200]


def fix_bytes(data: bytes, filename: str, config: Config, options: Options) -> FileResult:
    result = FileResult(path=filename, old=data)
    # The tokens are ASCII, so they can be searched before decoding (Python source is
    # ASCII-compatible in every encoding it accepts).
    # Plain substring search first: far faster than any regular expression.
    if (
        not any(t in data for t in _tokens_bytes(config))
        and not is_scheduler_path(filename, config)
        and not uses_project_facts(data.decode("latin-1"), config, filename)
    ):
        return result
    if config.is_sanctioned(filename):
        return result
    try:
        decoded: Decoded = decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        result.skipped = f"cannot decode: {_short(exc)}"
        return result
    try:
        outcome = fix_source(decoded.text, filename, config, options)
    except RecursionError as exc:  # pragma: no cover - belt and braces
        result.skipped = f"internal error: {_short(exc)}"
        return result
    result.fixes, result.manual, result.skipped = outcome.fixes, outcome.manual, outcome.skipped
    result.removed_globals = outcome.removed_globals
    if outcome.failed:
        result.error, result.skipped = outcome.skipped, None
    if outcome.new is not None:
        try:
            result.new = encode(outcome.new, decoded)
        except UnicodeEncodeError as exc:  # pragma: no cover - the text came from that encoding
            result.error = f"cannot encode the fix: {_short(exc)}"
    return result


def fix_file(path: str, config: Config, options: Options, write: bool) -> FileResult:
    """Fix ``path`` in place when ``write``; the result keeps the old and new bytes."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return FileResult(path=path, error=f"cannot read: {exc.strerror or exc}")
    result = fix_bytes(data, path, config, options)
    if write:
        write_result(result)
    return result


def write_result(result: FileResult) -> None:
    """Write a changed file; its manual fixes then get the fixed file's line numbers."""
    if result.new is None or result.old is None:
        return
    try:
        with open(result.path, "wb") as handle:
            handle.write(result.new)
    except OSError as exc:
        result.error = f"cannot write: {exc.strerror or exc}"
    else:
        old, new = decode(result.old).text, decode(result.new).text
        result.manual = remap_lines(result.manual, old, new)


def line_map(old: str, new: str) -> Dict[int, int]:
    """Line of ``old`` -> line of ``new``: unchanged lines map exactly, a line of a rewritten
    region to the line of the new region with the same text (indentation aside), else to the
    region's first line."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    mapping: Dict[int, int] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        region = {}
        if tag != "equal":
            for j in reversed(range(j1, j2)):
                region[new_lines[j].strip()] = j + 1
        for offset, i in enumerate(range(i1, i2)):
            if tag == "equal":
                mapping[i + 1] = j1 + offset + 1
            else:
                mapping[i + 1] = region.get(old_lines[i].strip(), j1 + 1)
    return mapping


def remap_lines(manual: List[ManualFix], old: str, new: str) -> List[ManualFix]:
    """Manual fixes with line numbers moved from ``old`` to ``new``, the lines their reasons
    mention included (unchanged lines map exactly; a line inside a rewritten region maps to
    the start of the new region)."""
    if not manual:
        return manual
    mapping = line_map(old, new)
    moved = {
        ManualFix(m.after[0], m.code, m.reason, m.after[1])
        if m.after is not None  # the fixed text's own lines, as its last pass saw them
        else ManualFix(
            mapping.get(m.line, m.line),
            m.code,
            m.reason,
            tuple(mapping.get(line, line) for line in m.related),
        )
        for m in manual
    }
    return sorted(moved, key=lambda m: (m.line, m.code, m.reason))
