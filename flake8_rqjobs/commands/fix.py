"""``flake8-rqjobs fix PATH...``: run the codemods over files and directories.

Exit status: 0 nothing changed, 1 files changed (or would change under ``--check``/``--diff``),
2 an error (bad option or configuration, a missing path, a file that could not be read or
written, a fix that failed its own verification). Files that do not parse are reported as
skipped and left byte-identical; they do not change the exit status (flake8 reports them).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, TextIO, Tuple

from flake8_rqjobs import __version__
from flake8_rqjobs.config import Config, ConfigError
from flake8_rqjobs.fixers import ALL_CODES, DESCRIPTIONS
from flake8_rqjobs.fixers.engine import FileResult, fix_file, line_map, write_result
from flake8_rqjobs.fixers.report import Options
from flake8_rqjobs.fixers.source import decode, project_files
from flake8_rqjobs.flake8_compat import build_config, discover, exclude_patterns, find_flake8_config

SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "dist-packages"}


def _parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code}  {text}" for code, text in DESCRIPTIONS.items())
    parser = argparse.ArgumentParser(
        prog="flake8-rqjobs fix",
        description="Rewrite RQJ violations with codemods (libcst). Reads the same "
        "[tool.rqjobs] configuration as the flake8 plugin.",
        epilog=f"fixers:\n{codes}\n\nexit status: 0 nothing changed, 1 files changed "
        "(or would change), 2 error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument("--version", action="version", version=f"flake8-rqjobs {__version__}")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if files would change"
    )
    parser.add_argument("--diff", action="store_true", help="print a unified diff; write nothing")
    parser.add_argument(
        "--select",
        default=None,
        metavar="CODES",
        help="comma-separated codes or prefixes (default: all fixers)",
    )
    parser.add_argument(
        "--ignore",
        default=None,
        metavar="CODES",
        help="comma-separated codes or prefixes whose fixers do not run",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only the summary line (and errors)"
    )
    parser.add_argument(
        "--wrapper-module",
        default=None,
        metavar="MODULE",
        help="module the fixed code imports get_redis/get_queue/enqueue from "
        "(overrides wrapper-module; default rqjobs)",
    )
    parser.add_argument(
        "--wrapper-default-url",
        default=None,
        metavar="URL",
        help="the URL the wrapper's get_redis() uses when REDIS_URL is unset (default: read "
        "from the wrapper module's source, else the runtime's redis://localhost:6379/0)",
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=1, metavar="N", help="processes (default 1)"
    )
    parser.add_argument(
        "--deprecate-definitions",
        action="store_true",
        help="also turn deprecated starter definitions into raise RuntimeError(...)",
    )
    return parser


def _pruned(name: str) -> bool:
    return name.startswith(".") or name in SKIP_DIRS


def iter_python_files(paths: Iterable[str], exclude: Sequence[str] = ()) -> Iterator[str]:
    """flake8's discovery (:func:`flake8_rqjobs.flake8_compat.discover`, the walker ``check``
    uses), which also never walks into hidden, cache or installed-package directories."""
    return discover(list(paths), exclude, prune=_pruned)


def select_codes(text: Optional[str]) -> Tuple[str, ...]:
    if not text:
        return ALL_CODES
    wanted = [part.strip().upper() for part in text.split(",") if part.strip()]
    chosen = tuple(code for code in ALL_CODES if any(code.startswith(w) for w in wanted))
    unknown = [w for w in wanted if not any(code.startswith(w) for code in ALL_CODES)]
    if unknown or not chosen:
        raise ValueError(
            f"--select: no fixer for {', '.join(unknown) or text!r} "
            f"(fixers: {', '.join(ALL_CODES)})"
        )
    return chosen


def _run_one(item: Tuple[str, Config, Options]) -> FileResult:
    from flake8_rqjobs.deepstack import run_deep

    path, config, options = item
    # On a large stack: a deeply nested expression parses (libcst and ast) like any file.
    result = run_deep(lambda: fix_file(path, config, options, write=False))
    if not result.changed:
        result.old = None  # nothing to diff: keep the inter-process traffic small
    return result


def _compute(paths: Sequence[str], config: Config, options: Options, jobs: int) -> List[FileResult]:
    items = [(path, config, options) for path in paths]
    if jobs > 1 and len(items) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(_run_one, items, chunksize=max(1, len(items) // (jobs * 8))))
    return [_run_one(item) for item in items]


_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.M)


def imported_elsewhere(results: Sequence[FileResult], paths: Sequence[str]) -> Set[str]:
    """Module-level names that a fix removed but that another file of the run imports
    (``from m import name``) or reads as an attribute (``m.name``)."""
    removed = {name: os.path.abspath(r.path) for r in results for name in r.removed_globals}
    if not removed:
        return set()
    keep: Set[str] = set()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        for name, owner in removed.items():
            if name in keep or os.path.abspath(path) == owner or name not in text:
                continue
            imported = any(
                re.search(rf"\b{re.escape(name)}\b", m.group(1))
                for m in _FROM_IMPORT.finditer(text)
            )
            if imported or re.search(rf"\.{re.escape(name)}\b", text):
                keep.add(name)
    return keep


def run(
    paths: Sequence[str], config: Config, options: Options, write: bool, jobs: int
) -> List[FileResult]:
    """Fix ``paths``; files are written only after every file was fixed in memory, so that
    a module-level variable that another file imports can be kept first. The importers are
    looked for in every file of the project, not only in ``paths``: pre-commit passes only
    the staged files, and an unstaged ``from app.jobs import q`` must keep ``q``."""
    results = _compute(paths, config, options, jobs)
    everywhere = list(paths)
    if any(result.removed_globals for result in results):
        everywhere += project_files(str(config.root), paths)
    keep = imported_elsewhere(results, everywhere)
    if keep:
        options = replace(options, keep_names=options.keep_names | frozenset(keep))
        redo = [i for i, r in enumerate(results) if set(r.removed_globals) & keep]
        for index, result in zip(redo, _compute([paths[i] for i in redo], config, options, jobs)):
            results[index] = result
    if write:
        for result in results:
            write_result(result)
    return results


def _diff(result: FileResult) -> str:
    assert result.old is not None and result.new is not None
    old = decode(result.old).text.splitlines(keepends=True)
    new = decode(result.new).text.splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old, new, fromfile=result.path, tofile=result.path):
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"  # as diff(1) and patch(1) expect
        lines.append(line)
    return "".join(lines)


def _lines_after(result: FileResult) -> Dict[int, int]:
    """Line of the text before the fix -> line of the fixed text."""
    assert result.old is not None and result.new is not None
    return line_map(decode(result.old).text, decode(result.new).text)


def report(results: Sequence[FileResult], dry: bool, out: TextIO, quiet: bool = False) -> None:
    verb = "would fix" if dry else "fixed"
    totals: Counter = Counter()
    manual_count = skipped = errors = changed = 0
    for result in results:
        if result.changed:
            changed += 1
            totals.update(result.fixes)
            detail = ", ".join(f"{code} x{n}" for code, n in sorted(result.fixes.items()))
            if not quiet:
                print(f"{result.path}: {verb} {detail}", file=out)
        after_lines = _lines_after(result) if dry and result.changed and not quiet else None
        for manual in result.manual:
            manual_count += 1
            if not quiet:
                text = f"{result.path}:{manual.line}: {manual.code} manual fix: {manual.text}"
                if after_lines is not None:  # the file on disk is still the one before the fix
                    if manual.after is not None:  # the fix's own line in the fixed text
                        after, related = manual.after
                    else:
                        after = after_lines.get(manual.line, manual.line)
                        related = tuple(after_lines.get(n, n) for n in manual.related)
                    moved = after != manual.line or related != manual.related
                    if moved:
                        text += f" (line numbers before the fix; line {after} after it)"
                print(text, file=out)
        if result.skipped:
            skipped += 1
            if not quiet:
                print(f"{result.path}: skipped: {result.skipped}", file=out)
        if result.error:
            errors += 1
            print(f"{result.path}: error: {result.error}", file=out)
    files = "file" if changed == 1 else "files"
    summary = [f"{changed} {files} {'would change' if dry else 'changed'}"]
    if totals:
        per_code = ", ".join(f"{code} {n}" for code, n in sorted(totals.items()))
        summary.append(f"{sum(totals.values())} fixes ({per_code})")
    summary.append(f"{manual_count} manual fix{'es' if manual_count != 1 else ''} left")
    if skipped:
        summary.append(f"{skipped} skipped")
    if errors:
        summary.append(f"{errors} error{'s' if errors != 1 else ''}")
    print("flake8-rqjobs fix: " + ", ".join(summary), file=out)


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code or 0)
    try:
        chosen = select_codes(args.select)
        if args.ignore:
            ignored = [c.strip().upper() for c in args.ignore.split(",") if c.strip()]
            chosen = tuple(code for code in chosen if not code.startswith(tuple(ignored)))
            if not chosen:
                raise ValueError("--ignore leaves no fixer to run")
        options = Options(
            select=chosen,
            deprecate_definitions=args.deprecate_definitions,
            wrapper_default_url=args.wrapper_default_url,
        )
        if args.jobs < 1:
            raise ValueError("-j must be at least 1")
    except ValueError as exc:
        print(f"flake8-rqjobs fix: {exc}", file=sys.stderr)
        return 2
    # The plugin's configuration: pyproject.toml, then the flake8 config file's rqjobs-* keys,
    # then --wrapper-module; and the flake8 config file's exclude/extend-exclude.
    cli = {"wrapper-module": args.wrapper_module} if args.wrapper_module else {}
    try:
        config, _ = build_config(cli)
        exclude = exclude_patterns(find_flake8_config(os.getcwd()))
    except ConfigError as exc:
        print(f"flake8-rqjobs fix: {exc}", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not os.path.exists(p)]
    for path in missing:
        print(f"flake8-rqjobs fix: {path}: no such file or directory", file=sys.stderr)
    paths = list(iter_python_files((p for p in args.paths if p not in missing), exclude))
    dry = args.check or args.diff
    results = run(paths, config, options, write=not dry, jobs=args.jobs)
    if args.diff:
        for result in results:
            if result.changed:
                sys.stdout.write(_diff(result))
    report(results, dry, sys.stderr if args.diff else sys.stdout, quiet=args.quiet)
    if missing or any(r.error for r in results):
        return 2
    return 1 if any(r.changed for r in results) else 0
