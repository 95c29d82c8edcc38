"""``flake8-rqjobs check PATH...``: the RQJ rules without flake8, as a CI-grade linter.

Same rule code and ``# noqa`` semantics as ``flake8 --select RQJ`` (the findings are
identical), configuration per file (:mod:`flake8_rqjobs.project`), output formats
(:mod:`flake8_rqjobs.output`), a strict prefilter (:mod:`flake8_rqjobs.prefilter`: only files
that can hold a finding are parsed), every core (``-j``) and a content-hash cache
(:mod:`flake8_rqjobs.cache`).

Exit status (ruff's): 0 nothing reported, 1 something reported (a finding, or an error: ``E902``
a path that cannot be read, ``E999`` a file that does not parse; both are reported in the
chosen format and count unless ignored), 2 bad usage or configuration. ``--exit-zero`` turns
1 into 0. Parsing and checking run on a thread with a large stack, so a deeply nested
expression is checked like any other file; a file that still cannot be handled is an ``E999``
with the reason, and the run goes on.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, TextIO, Tuple

from flake8_rqjobs import __version__
from flake8_rqjobs import facts as project_facts
from flake8_rqjobs.cache import Cache, Result, default_cache_dir, digest
from flake8_rqjobs.config import OPTIONS, Config, ConfigError
from flake8_rqjobs.deepstack import run_deep
from flake8_rqjobs.flake8_compat import NOQA_FILE, decode_lines, drop_noqa
from flake8_rqjobs.output import Diagnostic
from flake8_rqjobs.project import (
    FORMATS,
    READ_ERROR,
    SYNTAX_ERROR,
    Resolver,
    Selection,
    Settings,
    selection_from,
)

if TYPE_CHECKING:
    from flake8_rqjobs.rules.base import Site


def facts_digest(config: Config) -> str:
    from flake8_rqjobs.facts import for_config

    return for_config(config).digest


PARALLEL_THRESHOLD = 24  # fewer files to parse than this: no worker processes


# --- one file ---------------------------------------------------------------------------
ErrorTuple = Tuple[str, int, int, str]


def check_sites(path: str, data: bytes, config: Config) -> Tuple[List[Site], Optional[ErrorTuple]]:
    """(sites after ``# noqa``, error) of one file's bytes, without the prefilter; never
    raises for the file's content (run it under :func:`run_deep` for deep nesting)."""
    from flake8_rqjobs.checker import check_tree

    lines = decode_lines(data)
    if any(NOQA_FILE.match(line) for line in lines):
        return [], None
    text = "".join(lines)
    # The facts pass may have parsed these bytes already: the same tree (UTF-8 without a
    # coding cookie: the bytes and the decoded text are one source).
    tree = project_facts.take_tree(path, data) if b"coding" not in data[:400] else None
    try:
        if tree is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning etc. are not our findings
                tree = ast.parse(text, filename=path)
    except SyntaxError as exc:  # flake8's E999 position and text
        line, col = _syntax_error_position(exc)
        return [], (SYNTAX_ERROR, line, col + 1, f"SyntaxError: {exc.args[0]}")
    except (ValueError, TypeError) as exc:
        return [], (SYNTAX_ERROR, 1, 1, f"{type(exc).__name__}: {exc}")
    except (RecursionError, MemoryError) as exc:
        return [], (SYNTAX_ERROR, 1, 1, f"{type(exc).__name__}: nested too deeply to parse")
    try:
        sites = check_tree(tree, path, config, lines)
    except (RecursionError, MemoryError) as exc:
        return [], (SYNTAX_ERROR, 1, 1, f"{type(exc).__name__}: nested too deeply to check")
    return drop_noqa(sites, lines), None


def _syntax_error_position(exc: SyntaxError) -> Tuple[int, int]:
    """(line, 0-based column) as flake8 reports a SyntaxError (its E999)."""
    info = exc.args[1] if len(exc.args) > 1 and exc.args[1] else None
    if not info or len(info) <= 2:
        return 1, 0
    line, col = info[1] or 1, info[2] or 0
    if col > 0 and len(info) == 4:  # Python 3.9: a 1-based column, and a multi-line text
        physical = info[3]
        if physical is not None:
            physical_lines = physical.rstrip("\n").split("\n")
            line -= len(physical_lines) - 1
            col = min(col, len(physical_lines[0]))
        col -= 1
    return line, col


def check_data(path: str, data: bytes, config: Config) -> Result:
    """:func:`check_sites` as plain tuples (what workers return and the cache stores):
    ``(line, col, end_line, end_col, code, message)``, 0-based columns, message without
    the code."""
    sites, error = check_sites(path, data, config)
    return [
        (s.span.line, s.span.col, s.span.end_line, s.span.end_col, s.code, _strip_code(s))
        for s in sites
    ], error


def _strip_code(site: Site) -> str:
    prefix = site.code + " "
    return site.message[len(prefix) :] if site.message.startswith(prefix) else site.message


def check_file(path: str, config: Config) -> Tuple[List[Site], Optional[str]]:
    """(violations left after noqa, error text or None) for one file, prefilter included:
    one file's ``check`` as a function (no cache, no selection)."""
    from flake8_rqjobs.prefilter import needs_parse

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return [], f"{path}: cannot read: {exc}"
    if not needs_parse(_prefilter_text(data), path, config):
        return [], None
    sites, error = run_deep(lambda: check_sites(path, data, config))
    if error is not None:
        return [], f"{path}:{error[1]}: cannot parse: {error[3]}"
    return sites, None


def _batch(items: Sequence[Tuple[str, bytes, Config]]) -> List[Result]:
    import gc

    # Trees are freed by reference counting; the cyclic collector only slows parsing down.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return run_deep(lambda: [check_data(path, data, config) for path, data, config in items])
    finally:
        if enabled:
            gc.enable()


def _needs_parse(text: str, path: str, config: Config) -> bool:
    from flake8_rqjobs.prefilter import needs_parse  # the rules: only on a cache miss

    return needs_parse(text, path, config)


def _prefilter_text(data: bytes) -> str:
    """The text the prefilter reads: UTF-8 when the file is UTF-8 without a coding cookie
    (the common case, fast), else flake8's exact decoding."""
    head = data[:400]
    if b"coding" not in head:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return "".join(decode_lines(data))


# --- discovery --------------------------------------------------------------------------
@dataclass
class Discovery:
    files: List[Tuple[str, Settings]] = field(default_factory=list)
    missing: List[Tuple[str, OSError]] = field(default_factory=list)
    excluded: Dict[str, int] = field(default_factory=dict)  # config file -> files excluded
    arguments: List[str] = field(default_factory=list)  # the paths as given
    dirs: List[str] = field(default_factory=list)  # every folder walked (absolute)
    config_files: List[str] = field(default_factory=list)  # config files in those folders

    def note_excluded(self, settings: Settings, full: str, count_files: bool) -> None:
        if settings.exclude_source is None:
            return  # flake8's default excludes (.git, __pycache__, ...) or the command line
        count = 1
        if os.path.isdir(full):
            count = _count_python(full) if count_files else 0
        self.excluded[settings.exclude_source] = (
            self.excluded.get(settings.exclude_source, 0) + count
        )


def _count_python(directory: str) -> int:
    total = 0
    for _, _, files in os.walk(directory):
        total += sum(1 for name in files if name.endswith(".py"))
    return total


def discover(paths: Sequence[str], resolver: Resolver, count_excluded: bool) -> Discovery:
    """flake8's discovery, each folder with the excludes of its own flake8 config file."""
    from flake8_rqjobs.runindex import CONFIG_NAMES

    found = Discovery(arguments=list(paths))
    for path in paths:
        if not os.path.exists(path):
            settings = resolver.for_directory(os.path.dirname(os.path.abspath(path)) or ".")
            if not settings.is_excluded(path):
                found.missing.append(
                    (path, FileNotFoundError(2, "No such file or directory", path))
                )
            continue
        is_dir = os.path.isdir(path)
        owner = resolver.for_directory(path if is_dir else os.path.dirname(os.path.abspath(path)))
        if owner.is_excluded(path):
            found.note_excluded(owner, path, count_excluded)
            continue
        if not is_dir:
            found.files.append((path, resolver.for_file(path)))
            continue
        for directory, subdirs, names in os.walk(path):
            listed = set(names)
            here = resolver.for_directory(directory, listed)
            base = os.path.abspath(directory)
            found.dirs.append(base)
            found.config_files += [os.path.join(base, n) for n in CONFIG_NAMES if n in listed]
            kept = []
            for name in sorted(subdirs):
                full = os.path.join(directory, name)
                if here.is_excluded(full, os.path.join(base, name)):
                    found.note_excluded(here, full, count_excluded)
                else:
                    kept.append(name)
            subdirs[:] = kept
            for name in sorted(names):
                if not name.endswith(".py"):
                    continue
                full = os.path.join(directory, name)
                if here.is_excluded(full, os.path.join(base, name)):
                    found.note_excluded(here, full, count_excluded)
                else:
                    found.files.append((full, here))
    return found


# --- the run ----------------------------------------------------------------------------
@dataclass
class RunStats:
    checked: int = 0
    parsed: int = 0
    cached: int = 0


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run(
    files: Sequence[Tuple[str, Settings]], jobs: int, cache: Optional[Cache]
) -> Tuple[List[Result], RunStats]:
    """The raw result of every file (before selection), in order."""
    stats = RunStats(checked=len(files))
    results: List[Optional[Result]] = [None] * len(files)
    pending: List[Tuple[int, str, bytes, Config, os.stat_result, str]] = []
    fingerprints = [""] * len(files)  # the project-wide facts are part of every result
    digests: Dict[int, str] = {}  # id(settings) -> its fingerprint with the facts' digest
    for index, (path, settings) in enumerate(files):
        absolute = os.path.abspath(path)
        fingerprint = digests.get(id(settings))
        if fingerprint is None:
            fingerprint = settings.fingerprint + facts_digest(settings.config)
            digests[id(settings)] = fingerprint
        fingerprints[index] = fingerprint
        sha = ""
        try:
            st = os.stat(path)
            if cache is not None:
                hit = cache.by_stat(absolute, st, fingerprint)
                if hit is not None:
                    results[index] = hit
                    stats.cached += 1
                    continue
            shared = project_facts.take_data(absolute, st)  # the facts pass read it already
            if shared is not None:
                data, sha = shared
            else:
                with open(path, "rb") as handle:
                    data = handle.read()
        except OSError as exc:
            results[index] = ([], (READ_ERROR, 1, 1, f"{type(exc).__name__}: {exc}"))
            continue
        if cache is not None:
            sha = sha or digest(data)
            hit = cache.by_hash(absolute, st, sha, fingerprint)
            if hit is not None:
                results[index] = hit
                stats.cached += 1
                continue
        if not _needs_parse(_prefilter_text(data), absolute, settings.config):
            results[index] = ([], None)
            if cache is not None:
                cache.store(absolute, st, sha, fingerprint, ([], None))
            continue
        pending.append((index, path, data, settings.config, st, sha))
    stats.parsed = len(pending)
    items = [(path, data, config) for _, path, data, config, _, _ in pending]
    if jobs > 1 and len(items) >= PARALLEL_THRESHOLD:
        computed = _parallel(items, jobs)
    else:
        computed = _batch(items)
    for (index, path, _, _, st, sha), result in zip(pending, computed):
        results[index] = result
        if cache is not None:
            cache.store(os.path.abspath(path), st, sha, fingerprints[index], result)
    return [r if r is not None else ([], None) for r in results], stats


def _parallel(items: Sequence[Tuple[str, bytes, Config]], jobs: int) -> List[Result]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, min(32, len(items) // (jobs * 4)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=context) as pool:
        return [result for chunk in pool.map(_batch, chunks) for result in chunk]


def diagnostics_for(
    files: Sequence[Tuple[str, Settings]],
    results: Sequence[Result],
    missing: Sequence[Tuple[str, OSError]],
    resolver: Resolver,
    want_source: bool,
) -> List[Diagnostic]:
    found: List[Diagnostic] = []
    for path, exc in missing:
        settings = resolver.for_directory(os.path.dirname(os.path.abspath(path)) or ".")
        if not settings.hides(path, READ_ERROR):
            message = f"{type(exc).__name__}: [Errno 2] No such file or directory: {path!r}"
            found.append(Diagnostic(path, 1, 1, 1, 1, READ_ERROR, message))
    for (path, settings), (sites, error) in zip(files, results):
        shown: List[Tuple[int, int, int, int, str, str]] = []
        if error is not None:
            code, line, col, message = error
            if not settings.hides(path, code):
                shown.append((line, col - 1, line, col - 1, code, message))
        shown += [site for site in sites if not settings.hides(path, site[4])]
        if not shown:
            continue
        source: List[str] = []
        if want_source:
            try:
                with open(path, "rb") as handle:
                    source = decode_lines(handle.read())
            except OSError:
                source = []
        for line, col, end_line, end_col, code, message in shown:
            text = source[line - 1].rstrip("\r\n") if 0 < line <= len(source) else None
            found.append(
                Diagnostic(path, line, col + 1, end_line, end_col + 1, code, message, text)
            )
    return found


# --- command line -----------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flake8-rqjobs check",
        description="Check Python files for the RQJ rules, without flake8.",
        epilog="exit status: 0 nothing reported, 1 findings or errors (E902, E999) reported, "
        "2 bad usage or configuration",
    )
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    parser.add_argument("--version", action="version", version=f"flake8-rqjobs {__version__}")
    parser.add_argument(
        "--output-format",
        choices=FORMATS,
        default=None,
        help="text (flake8's, the default), concise, full (with source), json, json-lines, "
        "github, gitlab, sarif, junit, pylint; also output-format in [tool.rqjobs]",
    )
    parser.add_argument("-o", "--output-file", default=None, metavar="FILE", help="write there")
    parser.add_argument("--select", default=None, metavar="CODES", help="codes or prefixes")
    parser.add_argument("--extend-select", default=None, metavar="CODES")
    parser.add_argument("--ignore", default=None, metavar="CODES")
    parser.add_argument("--extend-ignore", default=None, metavar="CODES")
    parser.add_argument(
        "--statistics", action="store_true", help="count per code (and files excluded by config)"
    )
    parser.add_argument("--show-source", action="store_true", help="print the source line")
    parser.add_argument(
        "-q", "--quiet", action="count", default=0, help="no notes on stderr; -qq: no output"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="a summary on stderr")
    parser.add_argument(
        "-j", "--jobs", type=int, default=0, metavar="N", help="processes (default: all cores)"
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument("--cache-dir", default=None, metavar="DIR")
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when something is reported"
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="use only this file (a .toml with [tool.rqjobs], or a flake8 config file)",
    )
    parser.add_argument("--isolated", action="store_true", help="read no configuration file")
    parser.add_argument("--exclude", default=None, metavar="PATTERNS", help="as flake8's --exclude")
    parser.add_argument(
        "--extend-exclude", default=None, metavar="PATTERNS", help="as flake8's --extend-exclude"
    )
    for key in OPTIONS:
        parser.add_argument(f"--rqjobs-{key}", dest=key, default=None, metavar="VALUE")
    return parser


def _error(text: str) -> int:
    print(f"flake8-rqjobs: {text.replace('rqjobs: ', '', 1)}", file=sys.stderr)
    return 2


def _summary(stats: RunStats, discovery: Discovery) -> List[str]:
    lines = [
        f"checked {stats.checked} files: {stats.parsed} parsed, {stats.cached} from the cache, "
        f"{stats.checked - stats.parsed - stats.cached} skipped by the prefilter"
    ]
    for source, count in sorted(discovery.excluded.items()):
        lines.append(f"{count} files excluded by config (exclude/extend-exclude in {source})")
    return lines


def main(argv: Optional[Sequence[str]] = None, replay: bool = True) -> int:
    """``flake8-rqjobs check ARGV``; first the run index (:mod:`flake8_rqjobs.runindex`)
    unless ``replay`` is false (the command line already asked it)."""
    from flake8_rqjobs import runindex

    started_ns = time.time_ns()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if replay:
        code = runindex.replay(arguments)
        if code is not None:
            return code
    try:
        args = _parser().parse_args(arguments)
    except SystemExit as exc:  # argparse: 2 on bad usage, 0 on --help/--version
        return int(exc.code or 0)
    if args.jobs < 0:
        return _error("-j must be at least 1 (0: every core)")
    cli = {key: getattr(args, key) for key in OPTIONS}
    try:
        table = {
            key: getattr(args, key.replace("-", "_"))
            for key in ("select", "extend-select", "ignore", "extend-ignore")
        }
        cli_selection = selection_from(table, "command line", prefix="--")
        resolver = Resolver(
            cli_options=cli,
            cli_selection=cli_selection if not cli_selection.empty else Selection(),
            isolated=args.isolated,
            config_file=args.config,
            cli_exclude=args.exclude,
            cli_extend_exclude=args.extend_exclude,
        )
        root = resolver.for_directory(os.getcwd())
        discovery = discover(args.paths, resolver, args.statistics or args.verbose)
    except ConfigError as exc:
        return _error(str(exc))
    fmt = args.output_format or root.output_format or "text"
    cache: Optional[Cache] = None
    if not args.no_cache:
        cache = Cache(default_cache_dir() if args.cache_dir is None else _path(args.cache_dir))
    jobs = args.jobs or default_jobs()
    if cache is not None:
        runindex.forget(arguments)  # stale from here on, whatever happens
    project_facts.use_cache_dir(cache.directory if cache is not None else None)
    project_facts.keep_trees()  # one parse per file: the facts pass's trees are the check's
    import gc

    collecting = gc.isenabled()
    gc.disable()  # the kept trees are long-lived: the collector would walk them again and again
    try:
        results, stats = run(discovery.files, jobs, cache)
    finally:
        project_facts.keep_trees(False)
        if collecting:
            gc.enable()
    if cache is not None:
        cache.save()
    want_source = args.show_source or fmt in ("full", "sarif", "gitlab")
    found = diagnostics_for(discovery.files, results, discovery.missing, resolver, want_source)
    buffer = io.StringIO()
    if args.quiet < 2:
        _emit(found, fmt, buffer, args, stats, discovery)
    text = buffer.getvalue()
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    elif text:
        sys.stdout.write(text)
        sys.stdout.flush()
    err = ""
    warm = ""  # what a re-run from the cache would print on stderr
    if args.verbose and not args.quiet:
        err = "".join(f"flake8-rqjobs: {line}\n" for line in _summary(stats, discovery))
        warm_stats = RunStats(checked=stats.checked, parsed=0, cached=stats.checked)
        warm = "".join(f"flake8-rqjobs: {line}\n" for line in _summary(warm_stats, discovery))
    elif not args.quiet and not args.statistics and discovery.excluded and not stats.checked:
        excluded = sum(discovery.excluded.values())
        err = warm = (
            f"flake8-rqjobs: no file checked; {excluded or 'some'} files excluded by config "
            f"({', '.join(sorted(discovery.excluded))}); --statistics shows the counts\n"
        )
    sys.stderr.write(err)
    code = 1 if found and not args.exit_zero else 0
    unreadable = any(error is not None and error[0] == READ_ERROR for _, error in results)
    if cache is not None and not args.statistics and not unreadable:
        if args.verbose and not args.quiet:
            warm += "flake8-rqjobs: nothing changed since the last run: its output replayed\n"
        runindex.record(
            arguments,
            str(cache.directory),
            started_ns,
            discovery,
            {os.path.abspath(str(settings.config.root)) for _, settings in discovery.files},
            resolver.config_files(),
            text,
            args.output_file,
            warm,
            code,
        )
    return code


def _path(text: str) -> Path:
    return Path(text)


def _emit(
    found: Sequence[Diagnostic],
    fmt: str,
    out: TextIO,
    args: argparse.Namespace,
    stats: RunStats,
    discovery: Discovery,
) -> None:
    from flake8_rqjobs import output

    if not args.statistics:
        output.write(found, fmt, out, show_source=args.show_source)
        return
    rows = output.statistics(found)
    if fmt in ("json", "json-lines"):
        import json

        payload = {
            "statistics": rows,
            "files": {
                "checked": stats.checked,
                "parsed": stats.parsed,
                "cached": stats.cached,
                "excluded_by_config": dict(sorted(discovery.excluded.items())),
            },
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return
    for row in rows:
        out.write(f"{row['count']}\t{row['code']}\t{row['summary']}\n")
    for line in _summary(stats, discovery):
        out.write(line + "\n")


__all__ = ["check_data", "check_file", "check_sites", "discover", "main", "run"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
