"""``flake8-rqjobs check PATH...``: the RQJ rules without flake8.

Same rule code, same configuration (``[tool.rqjobs]`` in pyproject.toml, then ``rqjobs-*`` keys
of the ``[flake8]`` section flake8 would read, then ``--rqjobs-*`` options), same ``# noqa``
semantics and output format as ``flake8 --select RQJ``. Files without any trigger name are
skipped before parsing. Exit status: 0 clean, 1 something reported, 2 bad usage or
configuration. Files that cannot be read or parsed are reported on stderr and do not count as
findings (flake8 reports them as E902/E999, which ``--select RQJ`` hides).
"""

from __future__ import annotations

import argparse
import ast
import configparser
import io
import os
import re
import sys
import tokenize
from fnmatch import fnmatch
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from flake8_rqjobs.checker import Violation, check_tree, needs_check
from flake8_rqjobs.config import OPTIONS, Config, ConfigError, apply_settings, load_config

# flake8 7's defaults (flake8/defaults.py): directories never walked into, and the noqa syntax.
DEFAULT_EXCLUDE = (
    ".svn",
    "CVS",
    ".bzr",
    ".hg",
    ".git",
    "__pycache__",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg",
)
NOQA_INLINE = re.compile(
    r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?",
    re.IGNORECASE,
)
NOQA_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)
_CODE_SPLIT = re.compile(r"[,\s]")


# --- configuration ----------------------------------------------------------------------
def find_flake8_config(start: str) -> Optional[str]:
    """The file flake8 would read its ``[flake8]`` section from (setup.cfg, tox.ini, .flake8,
    in each directory from ``start`` up to the home directory)."""
    home = os.path.abspath(os.path.expanduser("~"))
    path = os.path.abspath(start)
    while True:
        for candidate in ("setup.cfg", "tox.ini", ".flake8"):
            parser = configparser.RawConfigParser()
            filename = os.path.join(path, candidate)
            try:
                parser.read(filename, encoding="UTF-8")
            except (UnicodeDecodeError, configparser.Error):
                continue
            if "flake8" in parser or "flake8:local-plugins" in parser:
                return filename
        parent = os.path.dirname(path)
        if parent == path or parent == home:
            return None
        path = parent


def flake8_config_settings(filename: str) -> Dict[str, object]:
    """``rqjobs-*`` keys of the ``[flake8]`` section, as pyproject keys."""
    parser = configparser.RawConfigParser()
    parser.read(filename, encoding="UTF-8")
    if "flake8" not in parser:
        return {}
    settings: Dict[str, object] = {}
    for raw_key, value in parser["flake8"].items():
        key = raw_key.replace("_", "-")
        if key.startswith("rqjobs-") and key[len("rqjobs-") :] in OPTIONS:
            settings[key[len("rqjobs-") :]] = value
    return settings


def build_config(cli: Dict[str, object]) -> Config:
    config = load_config()
    flake8_file = find_flake8_config(os.getcwd())
    if flake8_file is not None:
        config = apply_settings(
            config, flake8_config_settings(flake8_file), flake8_file, prefix="rqjobs-"
        )
    return apply_settings(config, cli, "command line", prefix="--rqjobs-")


# --- files ------------------------------------------------------------------------------
def _excluded(path: str) -> bool:
    name = os.path.basename(path)
    absolute = os.path.abspath(path)
    return any(fnmatch(name, p) or fnmatch(absolute, p) for p in DEFAULT_EXCLUDE)


def discover(paths: Sequence[str]) -> Iterator[str]:
    """Python files under ``paths`` (explicit files always; directories recursively)."""
    for path in paths:
        if not os.path.isdir(path):
            yield path
            continue
        for directory, subdirs, files in os.walk(path):
            subdirs[:] = sorted(d for d in subdirs if not _excluded(os.path.join(directory, d)))
            for name in sorted(files):
                full = os.path.join(directory, name)
                if name.endswith(".py") and not _excluded(full):
                    yield full


def read_lines(path: str) -> List[str]:
    """The file's lines decoded as flake8 decodes them (PEP 263, else latin-1; BOM dropped)."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeError):
        text = data.decode("latin-1")
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


# --- noqa -------------------------------------------------------------------------------
def noqa_line_mapping(lines: Sequence[str]) -> Dict[int, str]:
    """Line number -> the text flake8 searches for ``# noqa``: the line itself, or all the
    lines of a token that spans several lines (a triple-quoted string), joined."""
    mapping: Dict[int, str] = {}
    first, last = len(lines) + 2, -1
    position = iter(lines)
    try:
        for token in tokenize.generate_tokens(lambda: next(position, "")):
            kind, _, (start, _), (end, _), _ = token
            if kind in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first, last = min(first, start), max(last, end)
            if kind in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(lines[first - 1 : last])
                for number in range(first, last + 1):
                    mapping[number] = joined
                first, last = len(lines) + 2, -1
    except (tokenize.TokenError, SyntaxError):
        return {}
    return mapping


def is_noqa(violation: Violation, text: Optional[str]) -> bool:
    """flake8's inline rule: a blanket ``# noqa``, or the code or a prefix of it listed."""
    if text is None:
        return False
    match = NOQA_INLINE.search(text)
    if match is None:
        return False
    codes_text = match.group("codes")
    if codes_text is None:
        return True
    codes = {c.strip() for c in _CODE_SPLIT.split(codes_text) if c.strip()}
    return violation.code in codes or violation.code.startswith(tuple(codes))


# --- checking ---------------------------------------------------------------------------
def check_file(path: str, config: Config) -> Tuple[List[Violation], Optional[str]]:
    """(violations left after noqa, error text or None) for one file."""
    try:
        lines = read_lines(path)
    except OSError as exc:
        return [], f"{path}: cannot read: {exc}"
    if not needs_check("".join(lines), path, config):
        return [], None
    if any(NOQA_FILE.match(line) for line in lines):
        return [], None
    try:
        tree = ast.parse("".join(lines), filename=path)
    except (SyntaxError, ValueError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        where = f":{exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return [], f"{path}{where}: cannot parse: {detail}"
    try:
        violations = check_tree(tree, path, config, lines)
    except RecursionError:
        return [], f"{path}: skipped: nested too deeply to check"
    if not violations:
        return [], None
    mapping = noqa_line_mapping(lines)
    kept = []
    for violation in violations:
        text = mapping.get(violation.line)
        if text is None and 0 < violation.line <= len(lines):
            text = lines[violation.line - 1]
        if not is_noqa(violation, text):
            kept.append(violation)
    return kept, None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flake8-rqjobs check",
        description="Check Python files for the RQJ rules, without flake8.",
    )
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when something is reported"
    )
    for key in OPTIONS:
        parser.add_argument(f"--rqjobs-{key}", dest=key, default=None, metavar="VALUE")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    cli = {key: getattr(args, key) for key in OPTIONS}
    try:
        config = build_config(cli)
    except ConfigError as exc:
        print(f"flake8-rqjobs: {str(exc).replace('rqjobs: ', '', 1)}", file=sys.stderr)
        return 2
    reported = 0
    out = sys.stdout
    for path in discover(args.paths):
        violations, error = check_file(path, config)
        if error is not None:
            print(error, file=sys.stderr)
        for violation in violations:
            out.write(f"{path}:{violation.line}:{violation.col + 1}: {violation.message}\n")
        reported += len(violations)
    return 1 if reported and not args.exit_zero else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
