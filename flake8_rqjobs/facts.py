"""Project-wide facts: what each module of the project defines at module level, for the
rules checking every other module.

A first pass over the project (the configuration's root: the pyproject's folder, else the
working directory flake8 or ``check`` was started in) collects, per module and from its
module-level statements only:

- ``aliases``: names that stand for another qualified name (``from rq import Queue``,
  ``enqueue_job = enqueue``, ``from .queues import default_queue as q``);
- ``built``: names bound once to a call (``default_queue = Queue("default", ...)``,
  ``redis_client = Redis.from_url(...)``): the callee's qualified name and the first
  argument when it is a string literal (a queue's name);
- ``classes``: classes and the qualified names of their bases (a subclass of ``rq.Queue``
  re-exported under another name builds RQ queues);
- ``defs``: module-level functions, ``event_jobs`` those decorated with ``@event_job`` and
  ``rq_jobs`` those decorated with rq's ``@job(...)``.

Nothing here interprets the facts (which callee builds a queue is the rules' tables); the
rules ask :class:`ProjectFacts` through the checker's context. Only files that can hold a
fact are parsed: the ones naming ``rq``, ``redis``, ``django_rq``, ``rqjobs`` or
``event_job`` as a word, then, repeatedly, those that name an exported fact (a re-export).
Every file's facts are kept by the SHA-256 of its bytes, in memory (one build per process)
and on disk in ``check``'s cache folder when it exists (``.rqjobs_cache/facts-<stamp>.json``),
so a second run parses only changed files. Files outside the run (pre-commit hands over
staged files only) are read all the same. :attr:`ProjectFacts.digest` changes only when
some fact changes: ``check``'s result cache keys on it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Pattern,
    Set,
    Tuple,
)

if TYPE_CHECKING:
    from flake8_rqjobs.config import Config
from flake8_rqjobs.names import canonical, import_bindings, module_location

FACT_WORDS = re.compile(rb"\b(?:rq|redis|django_rq|rqjobs|rq_scheduler|event_job)\b")


def _fact_words(data: bytes) -> bool:
    """``FACT_WORDS.search(data)``, a plain substring search first (the regex is slow)."""
    return (b"rq" in data or b"redis" in data or b"event_job" in data) and bool(
        FACT_WORDS.search(data)
    )


SKIP_DIRS = frozenset(
    {"__pycache__", "site-packages", "dist-packages", "node_modules", "build", "dist"}
)
MAX_FILES = 50_000  # a root this large is not a project (a home directory): no facts
SOURCE_DIR = "src."  # src layout: src/app/queues.py is imported as app.queues
MAX_DEPTH = 8  # alias chains followed at most this far
TRUST_AFTER_NS = 2_000_000_000  # a file changed in the last 2 s is hashed, whatever its stat
EVENT_JOB_DECORATOR = "event_job"
TRACKED_ROOTS = frozenset({"rq", "redis", "django_rq", "rqjobs", "rq_scheduler"})
RQ_JOB_DECORATOR = "rq.job"


@dataclass
class ModuleFacts:
    """The module-level facts of one module (see the module docstring)."""

    path: str = ""
    aliases: Dict[str, str] = field(default_factory=dict)
    built: Dict[str, Tuple[str, Optional[str]]] = field(default_factory=dict)
    classes: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    defs: Set[str] = field(default_factory=set)
    event_jobs: Set[str] = field(default_factory=set)
    rq_jobs: Set[str] = field(default_factory=set)

    def names(self) -> Set[str]:
        return {*self.aliases, *self.built, *self.classes, *self.defs}

    def exported(self, wanted: FrozenSet[str] = frozenset()) -> Set[str]:
        """Names another module may import to reach a fact: objects built by RQ's, Redis's
        or the runtime's callables, classes deriving from theirs, decorated jobs, and
        aliases of their names; a name of ``wanted`` (another module's fact, as
        ``module_tail.name``) counts as theirs (a re-export of a re-export)."""

        split = self.__dict__.get("_exported_split")
        if split is None:  # the facts do not change once built: split once, ask often
            split = self.__dict__["_exported_split"] = self._split_exports()
        fixed, pending = split
        if not wanted:
            return set(fixed)
        return fixed | {name for name, shorts in pending if not shorts.isdisjoint(wanted)}

    def _split_exports(self) -> Tuple[Set[str], List[Tuple[str, FrozenSet[str]]]]:
        """(the names exported whatever ``wanted`` is, [(name, the ``_short`` forms of its
        qualified names: exported when one of them is wanted)])."""

        def rooted(qualname: str) -> bool:
            return qualname.split(".", 1)[0] in TRACKED_ROOTS

        fixed = {*self.event_jobs, *self.rq_jobs}
        pending: Dict[str, Set[str]] = {}
        candidates: List[Tuple[str, Tuple[str, ...]]]
        candidates = [(n, (callee,)) for n, (callee, _) in self.built.items()]
        candidates += list(self.classes.items())
        candidates += [(n, (target,)) for n, target in self.aliases.items()]
        for name, qualnames in candidates:
            if name in fixed:
                continue
            if any(map(rooted, qualnames)):
                fixed.add(name)
                pending.pop(name, None)
            elif qualnames:
                pending.setdefault(name, set()).update(map(_short, qualnames))
        return fixed, [(n, frozenset(shorts)) for n, shorts in pending.items() if n not in fixed]

    def to_json(self) -> List[object]:
        return [
            self.path,
            sorted(self.aliases.items()),
            sorted([k, list(v)] for k, v in self.built.items()),
            sorted([k, list(v)] for k, v in self.classes.items()),
            sorted(self.defs),
            sorted(self.event_jobs),
            sorted(self.rq_jobs),
        ]

    @classmethod
    def from_json(cls, data: List[object]) -> ModuleFacts:
        path, aliases, built, classes, defs, events, jobs = data
        return cls(
            str(path),
            {str(k): str(v) for k, v in aliases},  # type: ignore[attr-defined]
            {str(k): (str(v[0]), v[1]) for k, v in built},  # type: ignore[attr-defined]
            {str(k): tuple(v) for k, v in classes},  # type: ignore[attr-defined]
            set(defs),  # type: ignore[call-overload]
            set(events),  # type: ignore[call-overload]
            set(jobs),  # type: ignore[call-overload]
        )


def _resolve(expr: ast.AST, bound: Dict[str, str]) -> Optional[str]:
    attrs = []
    while isinstance(expr, ast.Attribute):
        attrs.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or expr.id not in bound:
        return None
    return canonical(".".join([bound[expr.id], *reversed(attrs)]))


def _statements(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Module-level statements, also inside module-level ``if``/``try``/``with`` blocks."""
    for statement in body:
        if isinstance(statement, ast.If):
            yield from _statements(statement.body)
            yield from _statements(statement.orelse)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            yield from _statements(statement.body)  # type: ignore[attr-defined]
            for handler in statement.handlers:  # type: ignore[attr-defined]
                yield from _statements(handler.body)
            yield from _statements(statement.orelse)  # type: ignore[attr-defined]
            yield from _statements(statement.finalbody)  # type: ignore[attr-defined]
        elif isinstance(statement, ast.With):
            yield from _statements(statement.body)
        else:
            yield statement


def module_facts(tree: ast.Module, relative_path: str) -> ModuleFacts:
    """The facts of one parsed module (``relative_path``: POSIX, from the project root)."""
    module, is_package = module_location(relative_path)
    facts = ModuleFacts(path=relative_path)
    bound: Dict[str, str] = {}  # what a name means here, in source order
    counts: Dict[str, int] = {}

    def bind(name: str, meaning: Optional[str]) -> None:
        counts[name] = counts.get(name, 0) + 1
        if meaning is None:
            bound.pop(name, None)
        else:
            bound[name] = meaning

    for statement in _statements(tree.body):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            for local, qualname in import_bindings(statement, module, is_package).items():
                bind(local, qualname)
                facts.aliases[local] = qualname
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bind(statement.name, f"{module}.{statement.name}" if module else statement.name)
            facts.defs.add(statement.name)
            for decorator in statement.decorator_list:
                func = decorator.func if isinstance(decorator, ast.Call) else decorator
                decorator_name = _resolve(func, bound)
                spelled = func.attr if isinstance(func, ast.Attribute) else None
                if isinstance(func, ast.Name):
                    spelled = func.id
                if spelled == EVENT_JOB_DECORATOR or (decorator_name or "").endswith(
                    "." + EVENT_JOB_DECORATOR
                ):
                    facts.event_jobs.add(statement.name)
                elif decorator_name in (RQ_JOB_DECORATOR, "rq.decorators.job", "django_rq.job"):
                    facts.rq_jobs.add(statement.name)
        elif isinstance(statement, ast.ClassDef):
            bases = tuple(b for b in (_resolve(base, bound) for base in statement.bases) if b)
            bind(statement.name, f"{module}.{statement.name}" if module else statement.name)
            facts.classes[statement.name] = bases
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            value = statement.value
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if len(names) != len(targets) or value is None:
                for element in targets:
                    for node in ast.walk(element):
                        if isinstance(node, ast.Name):
                            bind(node.id, None)
                            facts.aliases.pop(node.id, None)
                            facts.built.pop(node.id, None)
                continue
            for name in names:
                meaning: Optional[str] = None
                if isinstance(value, (ast.Name, ast.Attribute)):
                    meaning = _resolve(value, bound)
                    if meaning is not None:
                        facts.aliases[name] = meaning
                elif isinstance(value, ast.Call):
                    callee = _resolve(value.func, bound)
                    if callee is not None:
                        first = value.args[0] if value.args else None
                        for kw in value.keywords:
                            if kw.arg in ("name", "queue_name"):
                                first = kw.value
                        literal = None
                        if isinstance(first, ast.Constant) and isinstance(first.value, str):
                            literal = first.value
                        facts.built[name] = (callee, literal)
                bind(name, meaning)
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            bind(statement.target.id, None)
    for name, count in counts.items():
        if count > 1:  # bound more than once: what it holds depends on the path taken
            facts.aliases.pop(name, None)
            facts.built.pop(name, None)
    return facts


# --- the project ------------------------------------------------------------------------
class ProjectFacts:
    """Every module's facts, by dotted module name, and the lookups the rules use."""

    def __init__(
        self, modules: Dict[str, ModuleFacts], imports: Optional[Dict[str, Set[str]]] = None
    ) -> None:
        self.imports: Dict[str, Set[str]] = imports or {}  # path -> modules it imports
        self.modules = modules
        # A file can only use a fact if it imports the fact's module and names the fact, or
        # names a job by its dotted path (``"app.hooks.send_webhook"``): the prefilters'
        # extra condition.
        self.exports: Dict[str, FrozenSet[str]] = {
            module: frozenset(names) for module, names in _exports_by_module(modules).items()
        }
        self._patterns: Dict[str, Pattern[str]] = {}  # module -> its names, as whole words
        self.job_paths: FrozenSet[str] = frozenset(
            f"{importable}.{job}"
            for name, facts in modules.items()
            for job in (*facts.event_jobs, *facts.rq_jobs)
            for importable in _importable(name)
        )
        payload = json.dumps(sorted((k, v.to_json()) for k, v in modules.items()))
        self.digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def module(self, name: str) -> Optional[ModuleFacts]:
        """A module by its dotted name; a name only found as the unique tail of a longer
        one in a ``src`` folder (``app.queues`` for ``src/app/queues.py``) counts too."""
        found = self.modules.get(name)
        if found is not None:
            return found
        return self.modules.get(SOURCE_DIR + name)

    def mentioned(self, text: str, relative_path: str = "") -> bool:
        """Does ``text`` (the file at ``relative_path`` from the root) import a project
        module with facts and name one of them, or name a job by its dotted path?"""
        if not self.exports:
            return False
        if any(path in text for path in self.job_paths):
            return True
        imports = self.imports.get(relative_path) if relative_path else None
        if imports is None:
            module, is_package = module_location(relative_path) if relative_path else ("", False)
            imports = imported_modules(text, module, is_package)
        for imported in imports & self.exports.keys():
            pattern = self._patterns.get(imported)
            if pattern is None:
                names = "|".join(map(re.escape, sorted(self.exports[imported])))
                pattern = self._patterns[imported] = re.compile(rf"(?<!\w)(?:{names})(?!\w)")
            if pattern.search(text):
                return True
        return False

    def split(self, qualname: str) -> Optional[Tuple[ModuleFacts, str, str]]:
        """(module, name in it, the attributes after it) for the longest module prefix."""
        parts = qualname.split(".")
        for end in range(len(parts) - 1, 0, -1):
            found = self.module(".".join(parts[:end]))
            if found is not None:
                return found, parts[end], ".".join(parts[end + 1 :])
        return None

    def follow(self, qualname: str) -> str:
        """``qualname`` through the project's re-exports and aliases (``app.queues.Queue``
        -> ``rq.Queue`` when app/queues.py says ``from rq import Queue``)."""
        for _ in range(MAX_DEPTH):
            parts = self.split(qualname)
            if parts is None:
                return qualname
            module, name, rest = parts
            target = module.aliases.get(name)
            if target is None or target == qualname:
                return qualname
            qualname = canonical(f"{target}.{rest}" if rest else target)
        return qualname

    def built(self, qualname: str) -> Optional[Tuple[str, Optional[str], str]]:
        """(constructor, first string argument, module path) of a module-level object
        built by a call, ``qualname`` being followed first."""
        parts = self.split(self.follow(qualname))
        if parts is None or parts[2]:
            return None
        module, name, _ = parts
        if name not in module.built:
            return None
        callee, literal = module.built[name]
        return self.follow(callee), literal, module.path

    def class_bases(self, qualname: str) -> Optional[Tuple[str, ...]]:
        parts = self.split(self.follow(qualname))
        if parts is None or parts[2]:
            return None
        module, name, _ = parts
        bases = module.classes.get(name)
        return tuple(self.follow(b) for b in bases) if bases is not None else None

    def subclass_of(self, qualname: str, bases: Iterable[str], depth: int = 0) -> Optional[str]:
        """The project class's tracked base (one of ``bases``) when ``qualname`` is a
        project class deriving from it, at any depth."""
        wanted = frozenset(bases)
        direct = self.class_bases(qualname)
        if direct is None or depth > MAX_DEPTH:
            return None
        for base in direct:
            if base in wanted:
                return base
            deeper = self.subclass_of(base, wanted, depth + 1)
            if deeper is not None:
                return deeper
        return None

    def is_event_job(self, qualname: str) -> bool:
        parts = self.split(self.follow(qualname))
        return parts is not None and not parts[2] and parts[1] in parts[0].event_jobs

    def is_rq_job(self, qualname: str) -> bool:
        parts = self.split(self.follow(qualname))
        return parts is not None and not parts[2] and parts[1] in parts[0].rq_jobs


def _short(qualname: str) -> str:
    """``app.queues.default_queue`` -> ``queues.default_queue``: how a fact is matched
    (a project imported under another root, ``server.services.jobs`` as ``services.jobs``,
    still matches)."""
    return ".".join(qualname.rsplit(".", 2)[-2:])


_FROM_IMPORT = re.compile(r"[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import\b(.*)", re.S)
_IMPORT = re.compile(r"[ \t]*import[ \t]+([^#;]+)")
_NAME = re.compile(r"[A-Za-z_]\w*")


def _import_statements(text: str) -> Iterable[str]:
    """The ``import``/``from ... import`` statements of a file, one string each (a
    parenthesized name list joined), found by a plain text search for ``import``."""
    if "\\" in text:
        text = re.sub(r"\\\r?\n", " ", text)  # continuation lines
    seen = -1
    position = text.find("import")
    while position >= 0:
        start = text.rfind("\n", 0, position) + 1
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        if start != seen:
            seen = start
            line = text[start:end]
            head = line.lstrip()[:7]
            if head.startswith(("from ", "from\t", "import ", "import\t")):
                if "(" in line and ")" not in line:
                    close = text.find(")", end)
                    end = len(text) if close < 0 else close
                    line = text[start:end]
                yield line
        position = text.find("import", end)


def imported_modules(text: str, module: str, is_package: bool) -> Set[str]:
    """The dotted modules a file imports from, relative imports resolved against ``module``
    (``from app import queues`` also gives ``app.queues``: a name imported from a package
    may be a submodule)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: Set[str] = set()
    for statement in _import_statements(text):
        match = _FROM_IMPORT.match(statement)
        if match is not None:
            dots, dotted, rest = match.groups()
            if dots:
                up = len(dots) - 1
                if up > len(package):
                    continue
                base = package[: len(package) - up]
                target = ".".join([*base, dotted] if dotted else base)
            else:
                target = dotted
            if target:
                found.add(target)
                found.update(f"{target}.{name}" for name in _NAME.findall(rest))
            continue
        plain = _IMPORT.match(statement)
        if plain is not None:
            for part in plain.group(1).split(","):
                words = part.split()
                if words:
                    found.add(words[0])
    return found


def _importable(module: str) -> Tuple[str, ...]:
    """The names ``module`` is imported by (what :meth:`ProjectFacts.module` accepts)."""
    if module.startswith(SOURCE_DIR):
        return module, module[len(SOURCE_DIR) :]
    return (module,)


def _exports_by_module(modules: Dict[str, ModuleFacts]) -> Dict[str, Set[str]]:
    """Each name a fact module is imported by -> the fact names it exports."""
    wanted = _fixpoint(modules)
    found: Dict[str, Set[str]] = {}
    for name, facts in modules.items():
        names = facts.exported(wanted)
        if names:
            for importable in _importable(name):
                found.setdefault(importable, set()).update(names)
    return found


def _fixpoint(modules: Dict[str, ModuleFacts]) -> FrozenSet[str]:
    """Every exported fact as ``module_tail.name``, re-exports of re-exports included."""
    every = [(name.rsplit(".", 1)[-1], facts) for name, facts in modules.items()]
    wanted: FrozenSet[str] = frozenset()
    for _ in range(MAX_DEPTH):
        grown = (
            frozenset(f"{tail}.{n}" for tail, facts in every for n in facts.exported(wanted))
            | wanted
        )
        if grown == wanted:
            break
        wanted = grown
    return wanted


EMPTY = ProjectFacts({})


# --- building it ------------------------------------------------------------------------
@dataclass
class Inputs:
    """What one build read (for ``check``'s run index): the folders walked (and the virtual
    environments skipped, whose ``pyvenv.cfg`` decides that), the files whose facts count,
    and whether the walk stopped at :data:`MAX_FILES`."""

    dirs: List[str] = field(default_factory=list)
    files: List[str] = field(default_factory=list)
    truncated: bool = False


INPUTS: Dict[str, Inputs] = {}  # absolute root -> the inputs of its last build


def _python_files(root: str, inputs: Optional[Inputs] = None) -> Iterable[str]:
    count = 0
    for directory, subdirs, names in os.walk(root):
        if inputs is not None:
            inputs.dirs.append(directory)
        kept = []
        for d in subdirs:
            if d.startswith(".") or d in SKIP_DIRS:
                continue
            if os.path.exists(os.path.join(directory, d, "pyvenv.cfg")):
                if inputs is not None:
                    inputs.dirs.append(os.path.join(directory, d))
                continue
            kept.append(d)
        subdirs[:] = sorted(kept)
        for name in sorted(names):
            if name.endswith(".py"):
                count += 1
                if count > MAX_FILES:
                    if inputs is not None:
                        inputs.truncated = True
                    return
                yield os.path.join(directory, name)


def _parse(data: bytes, path: str) -> Optional[ast.Module]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(data, filename=path)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None
    if _KEEP_TREES:
        _TREES[path] = (data, tree)
    return tree


# ``check`` parses each file once per run: the trees this pass parsed are kept (by absolute
# path, with the bytes they were parsed from) for the check of the same file to take.
_KEEP_TREES: List[bool] = []
_TREES: Dict[str, Tuple[bytes, ast.Module]] = {}
_DATA: Dict[str, Tuple[int, int, bytes, str]] = {}  # path -> (size, mtime_ns, bytes, sha256)


def keep_trees(keep: bool = True) -> None:
    """Keep the trees of the files the next builds parse (and the bytes of those they read),
    for :func:`take_tree` and :func:`take_data` (or stop, and drop those kept)."""
    _KEEP_TREES[:] = [True] if keep else []
    if not keep:
        _TREES.clear()
        _DATA.clear()


def take_data(path: str, st: os.stat_result) -> Optional[Tuple[bytes, str]]:
    """(bytes, SHA-256) of the file at the absolute ``path`` as a build read them, when its
    size and mtime are still those of ``st`` (each file's bytes are handed out once)."""
    found = _DATA.pop(path, None) if _DATA else None
    if found is None or found[0] != st.st_size or found[1] != st.st_mtime_ns:
        return None
    return found[2], found[3]


def take_tree(path: str, data: bytes) -> Optional[ast.Module]:
    """The tree a build parsed of ``path`` when it was parsed from these very bytes; each
    tree is handed out once (the check may annotate it)."""
    if not _TREES:
        return None
    found = _TREES.pop(os.path.abspath(path), None)
    if found is None or found[0] != data:
        return None
    return found[1]


_CHOSEN_CACHE: List[Optional[Path]] = []  # set by ``check``: its cache folder, or None


def use_cache_dir(directory: Optional[Path]) -> None:
    """Keep the facts in ``directory`` (``check``'s cache folder), or nowhere (``None``:
    ``--no-cache``); without a call, next to the root's own ``.rqjobs_cache`` if it exists."""
    _CHOSEN_CACHE[:] = [directory]


def _disk_cache(root: str) -> Optional[Path]:
    if _CHOSEN_CACHE:
        return _CHOSEN_CACHE[0]
    env = os.environ.get("RQJOBS_CACHE_DIR")
    from flake8_rqjobs.cache import CACHE_DIR_NAME

    return Path(env) if env else Path(root) / CACHE_DIR_NAME


_STAMP_FILES = ("facts.py", "names.py")


def _stamp() -> str:
    here = Path(__file__).resolve().parent
    parts = []
    for name in _STAMP_FILES:
        try:
            st = os.stat(here / name)
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:  # pragma: no cover
            pass
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def build(root: str, use_disk: bool = True) -> ProjectFacts:
    """Read every Python file under ``root`` and collect the facts (see the module doc)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()  # trees are freed by reference counting; the collector only slows parsing
    try:
        return _build(root, use_disk)
    finally:
        if enabled:
            gc.enable()


def _build(root: str, use_disk: bool) -> ProjectFacts:
    root = os.path.abspath(root)
    folder = _disk_cache(root) if use_disk else None
    use_disk = folder is not None
    root_key = hashlib.sha256(root.encode("utf-8")).hexdigest()[:8]
    cache_file = (folder or Path(root)) / f"facts-{_stamp()}-{root_key}.json"
    stored: Dict[str, List[Any]] = {}
    if use_disk:
        try:
            with open(cache_file, encoding="utf-8") as handle:
                loaded = json.load(handle)
            if isinstance(loaded, dict):
                stored = loaded
        except (OSError, ValueError):
            stored = {}
    # One entry per file: [size, mtime_ns, sha256, parsed, facts or None, imports or None];
    # a file whose size and mtime match (and that is not brand new) is not read again.
    fresh: Dict[str, List[Any]] = {}
    modules: Dict[str, ModuleFacts] = {}
    waiting: Dict[str, Tuple[str, str]] = {}  # module -> (relative, path): not parsed yet
    recent = time.time_ns() - TRUST_AFTER_NS
    inputs = INPUTS[root] = Inputs()
    prefix = root if root.endswith(os.sep) else root + os.sep
    for path in _python_files(root, inputs):
        if path.startswith(prefix):  # always, from os.walk(root): no relpath per file
            relative = path[len(prefix) :]
        else:  # pragma: no cover - defensive
            relative = os.path.relpath(path, root)
        if os.sep != "/":  # pragma: no cover - Windows
            relative = relative.replace(os.sep, "/")
        module, is_package = module_location(relative)
        if not module or not all(p.isidentifier() for p in module.split(".")):
            continue
        try:
            st = os.stat(path)
            entry = stored.get(relative)
            if not (
                entry is not None
                and len(entry) == 6
                and entry[0] == st.st_size
                and entry[1] == st.st_mtime_ns
                and st.st_mtime_ns < recent
            ):
                with open(path, "rb") as handle:
                    data = handle.read()
                sha = hashlib.sha256(data).hexdigest()
                if _KEEP_TREES:
                    _DATA[path] = (st.st_size, st.st_mtime_ns, data, sha)
                if entry is None or len(entry) != 6 or entry[2] != sha:
                    entry = _entry(data, path, relative, module, is_package)
                entry[:3] = [st.st_size, st.st_mtime_ns, sha]
        except OSError:
            inputs.truncated = True  # unreadable: the next run may see it
            continue
        inputs.files.append(path)
        fresh[relative] = entry = list(entry)  # never the stored list: changes must show
        if entry[3]:
            if entry[4] is not None:
                modules[module] = ModuleFacts.from_json(entry[4])
        else:
            waiting[module] = (relative, path)
    # Re-exports: a module that imports a fact's module and names the fact, until nothing
    # new turns up (each file's imports are in its entry).
    searched: Set[Tuple[str, str]] = set()
    while waiting:
        pairs = {
            (importable, name)
            for importable, names in _exports_by_module(modules).items()
            for name in names
        } - searched
        if not pairs:
            break
        searched |= pairs
        by_module: Dict[str, Set[str]] = {}
        for importable, name in pairs:
            by_module.setdefault(importable, set()).add(name)
        for module, (relative, path) in list(waiting.items()):
            entry = fresh[relative]
            names = [n for t in by_module.keys() & set(entry[5] or ()) for n in by_module[t]]
            if not names:
                continue
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            if not any(name.encode() in data for name in names):
                continue
            del waiting[module]
            tree = _parse(data, path)
            facts = module_facts(tree, relative) if tree is not None else None
            entry[3:5] = [True, facts.to_json() if facts is not None else None]
            if facts is not None:
                modules[module] = facts
    if use_disk and fresh != stored:
        _save(cache_file, fresh)
    imports = {rel: set(entry[5]) for rel, entry in fresh.items() if entry[5] is not None}
    return ProjectFacts(modules, imports)


def _entry(data: bytes, path: str, relative: str, module: str, is_package: bool) -> List[Any]:
    """A file's new cache entry (see :func:`build`): parsed when it names a tracked module,
    else only its imports (a re-export search may parse it later)."""
    if _fact_words(data):
        tree = _parse(data, path)
        facts = module_facts(tree, relative) if tree is not None else None
        return [0, 0, "", True, facts.to_json() if facts is not None else None, None]
    imports = sorted(imported_modules(data.decode("latin-1"), module, is_package))
    return [0, 0, "", False, None, imports]


def _save(cache_file: Path, entries: Dict[str, List[object]]) -> None:
    try:
        if _CHOSEN_CACHE:
            cache_file.parent.mkdir(parents=True, exist_ok=True)  # check's folder: it is its
        elif not cache_file.parent.is_dir():
            return  # only next to check's own cache (never a new folder, nor with --no-cache)
        fd, temp = tempfile.mkstemp(dir=str(cache_file.parent), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(entries))  # dumps: the C encoder (dump is pure Python)
        os.replace(temp, cache_file)
    except OSError:
        pass


_BUILT: Dict[str, ProjectFacts] = {}
_LOCK = threading.Lock()


def for_config(config: Config) -> ProjectFacts:
    """The facts of the configuration's project root."""
    return for_root(config.root)


def for_root(root: Path) -> ProjectFacts:
    """The project's facts, built once per process and root."""
    key = os.path.abspath(str(root))
    found = _BUILT.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _BUILT.get(key)
        if found is None:
            found = build(key, use_disk=os.environ.get("RQJOBS_NO_FACTS_CACHE") is None)
            _BUILT[key] = found
    return found


def forget(root: Optional[Path] = None) -> None:
    """Drop the in-process facts (of one root, or all): the next check builds them again
    (tests and ``fix`` after it rewrote files)."""
    if root is None:
        _BUILT.clear()
    else:
        _BUILT.pop(os.path.abspath(str(root)), None)
