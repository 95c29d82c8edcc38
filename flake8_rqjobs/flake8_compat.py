"""flake8's behaviour, as a library: what ``flake8 --select RQJ`` would read and hide.

``flake8-rqjobs check`` and ``flake8-rqjobs fix`` use it to honour the same configuration
file (``[flake8]`` of setup.cfg, tox.ini or .flake8), the same ``exclude``/``extend-exclude``,
``ignore``/``extend-ignore``/``per-file-ignores`` and ``# noqa`` rules, and the same file
discovery as flake8 7. Nothing here knows about any RQJ rule.
"""

from __future__ import annotations

import configparser
import io
import os
import re
import tokenize
from fnmatch import fnmatch
from typing import Callable, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple, TypeVar

from flake8_rqjobs.config import OPTIONS, Config, apply_settings, load_config


class Reported(Protocol):
    """Anything reported at a line with a code (a linter site)."""

    @property
    def line(self) -> int: ...

    @property
    def code(self) -> str: ...


R = TypeVar("R", bound=Reported)

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


def _flake8_section(filename: str) -> Dict[str, str]:
    parser = configparser.RawConfigParser()
    parser.read(filename, encoding="UTF-8")
    if "flake8" not in parser:
        return {}
    return {key.replace("_", "-"): value for key, value in parser["flake8"].items()}


def flake8_config_settings(filename: str) -> Dict[str, object]:
    """``rqjobs-*`` keys of the ``[flake8]`` section, as pyproject keys."""
    settings: Dict[str, object] = {}
    for key, value in _flake8_section(filename).items():
        if key.startswith("rqjobs-") and key[len("rqjobs-") :] in OPTIONS:
            settings[key[len("rqjobs-") :]] = value
    return settings


class Ignores:
    """What ``flake8 --select RQJ`` would still hide because of the config file's ``ignore``,
    ``extend-ignore`` and ``per-file-ignores``. With ``--select RQJ`` given explicitly, an
    ignored code wins only when it is at least as long as ``RQJ`` (flake8's longest-prefix
    rule); of the per-file entries, only the longest matching pattern applies."""

    SELECT = "RQJ"

    def __init__(self, section: Dict[str, str]) -> None:
        self.codes: Tuple[str, ...] = ()
        self.per_file: List[Tuple[str, Tuple[str, ...]]] = []
        listed = [section.get("ignore", ""), section.get("extend-ignore", "")]
        self.codes = tuple(c for text in listed for c in _split_codes(text))
        mapping = section.get("per-file-ignores", "")
        if mapping.strip():
            from flake8 import utils  # only when the project has per-file-ignores

            for pattern, codes in utils.parse_files_to_codes_mapping(mapping):
                self.per_file.append((utils.normalize_path(pattern), tuple(codes)))

    def hides(self, path: str, code: str) -> bool:
        codes = list(self.codes)
        best: Optional[Tuple[str, Tuple[str, ...]]] = None
        if self.per_file:
            basename, absolute = os.path.basename(path), os.path.abspath(path)
            for pattern, extra in self.per_file:
                if fnmatch(basename, pattern) or fnmatch(absolute, pattern):
                    if best is None or len(pattern) > len(best[0]):
                        best = (pattern, extra)
        if best is not None:
            codes += best[1]
        matching = [c for c in codes if code.startswith(c)]
        return bool(matching) and max(len(c) for c in matching) >= len(self.SELECT)


def _split_codes(text: str) -> List[str]:
    return [c.strip() for c in re.split(r"[,\s]", text) if c.strip()]


def build_config(cli: Dict[str, object], isolated: bool = False) -> Tuple[Config, Ignores]:
    """pyproject.toml, then the flake8 config file (unless ``isolated``), then ``cli``."""
    config = load_config()
    ignores = Ignores({})
    flake8_file = None if isolated else find_flake8_config(os.getcwd())
    if flake8_file is not None:
        config = apply_settings(
            config, flake8_config_settings(flake8_file), flake8_file, prefix="rqjobs-"
        )
        ignores = Ignores(_flake8_section(flake8_file))
    return apply_settings(config, cli, "command line", prefix="--rqjobs-"), ignores


# --- files ------------------------------------------------------------------------------
def exclude_patterns(
    flake8_file: Optional[str],
    cli_exclude: Optional[str] = None,
    cli_extend_exclude: Optional[str] = None,
) -> List[str]:
    """flake8's ``exclude`` + ``extend-exclude``: the command line wins over the config file,
    ``exclude`` replaces flake8's defaults, and patterns with a ``/`` are taken relative to
    the config file's folder (the command line's: the working directory)."""
    from flake8 import utils

    section = _flake8_section(flake8_file) if flake8_file else {}
    parent = os.path.dirname(os.path.abspath(flake8_file)) if flake8_file else os.curdir

    def patterns(cli: Optional[str], key: str, default: Sequence[str]) -> List[str]:
        if cli is not None:
            return utils.normalize_paths(utils.parse_comma_separated_list(cli))
        if key in section:
            return utils.normalize_paths(utils.parse_comma_separated_list(section[key]), parent)
        return list(default)

    return patterns(cli_exclude, "exclude", DEFAULT_EXCLUDE) + patterns(
        cli_extend_exclude, "extend-exclude", ()
    )


def is_excluded(path: str, patterns: Sequence[str]) -> bool:
    """flake8's test: the base name or the absolute path matches one of ``patterns``."""
    name = os.path.basename(path)
    if name not in (".", "..") and any(fnmatch(name, p) for p in patterns):
        return True
    absolute = os.path.abspath(path)
    return any(fnmatch(absolute, p) for p in patterns)


def discover(
    paths: Sequence[str],
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    prune: Optional[Callable[[str], bool]] = None,
) -> Iterator[str]:
    """Python files under ``paths`` as flake8 finds them: an excluded argument is skipped
    even when named explicitly; an explicit file is checked whatever its name; directories
    are walked for ``*.py``, pruning excluded folders (and, with ``prune``, the folders whose
    base name it rejects: ``fix`` never walks into hidden or installed-package folders)."""
    for path in paths:
        if is_excluded(path, exclude):
            continue
        if not os.path.isdir(path):
            yield path
            continue
        for directory, subdirs, files in os.walk(path):
            subdirs[:] = sorted(
                d
                for d in subdirs
                if not (prune is not None and prune(d))
                and not is_excluded(os.path.join(directory, d), exclude)
            )
            for name in sorted(files):
                full = os.path.join(directory, name)
                if name.endswith(".py") and not is_excluded(full, exclude):
                    yield full


def read_lines(path: str) -> List[str]:
    """The file's lines decoded as flake8 decodes them (PEP 263, else latin-1; BOM dropped)."""
    with open(path, "rb") as handle:
        data = handle.read()
    return decode_lines(data)


def decode_lines(data: bytes) -> List[str]:
    """:func:`read_lines` for bytes already read."""
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


def is_noqa(violation: Reported, text: Optional[str]) -> bool:
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


def drop_noqa(violations: Sequence[R], lines: Sequence[str]) -> List[R]:
    """The violations that no ``# noqa`` silences, exactly as flake8 decides it: a file-level
    ``# flake8: noqa`` silences all; an inline one applies to the report line, which for a
    multi-line string or call is the logical line flake8 maps it to."""
    if not violations:
        return []
    if any(NOQA_FILE.match(line) for line in lines):
        return []
    if not any(NOQA_INLINE.search(line) for line in lines if "#" in line):
        return list(violations)  # no inline noqa at all: no need to tokenize for the mapping
    mapping = noqa_line_mapping(lines)
    kept = []
    for violation in violations:
        text = mapping.get(violation.line)
        if text is None and 0 < violation.line <= len(lines):
            text = lines[violation.line - 1]
        if not is_noqa(violation, text):
            kept.append(violation)
    return kept
