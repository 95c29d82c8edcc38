"""Per-file settings for ``flake8-rqjobs check``: which configuration governs each file, which
codes it reports, and which files are excluded (ruff's model, with flake8's files).

Each file uses the nearest ``pyproject.toml`` with a ``[tool.rqjobs]`` table above it (its
folder is the project root that path patterns are relative to) and the nearest flake8 config
file (``setup.cfg``, ``tox.ini``, ``.flake8`` with a ``[flake8]`` section) above it; without a
``[tool.rqjobs]`` anywhere above a file, the working directory's project applies (as in the
flake8 plugin). ``--config FILE`` forces one file for every path (a ``.toml`` for
``[tool.rqjobs]``, any other name as a flake8 config file); ``--isolated`` reads none.

Precedence for the rule options: ``[tool.rqjobs]``, then the flake8 file's ``rqjobs-*`` keys,
then ``--rqjobs-*``. Selection (ruff's): ``select`` replaces the default (every RQJ code),
``extend-select`` adds, ``ignore``/``extend-ignore`` remove; within one layer the more
specific prefix wins (at equal length, ignore wins); the command line is the last layer.
``per-file-ignores`` of ``[tool.rqjobs]`` (patterns relative to that file's folder, ``!``
negates) and the flake8 file's ``ignore``/``extend-ignore``/``per-file-ignores`` (with
flake8's semantics) then hide codes per file. The error codes ``E902`` (a path that cannot
be read) and ``E999`` (a file that does not parse) are always selected unless ignored.
"""

from __future__ import annotations

import configparser
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatch, translate
from pathlib import Path
from typing import Collection, Dict, FrozenSet, List, Mapping, Optional, Pattern, Sequence, Tuple

from flake8_rqjobs.config import (
    LINT_OPTIONS,
    Config,
    ConfigError,
    apply_settings,
    load_config,
    read_pyproject,
    tomllib,
)
from flake8_rqjobs.flake8_compat import (
    DEFAULT_EXCLUDE,
    Ignores,
    _flake8_section,
    flake8_config_settings,
)

READ_ERROR = "E902"
SYNTAX_ERROR = "E999"
ERROR_CODES: Tuple[str, ...] = (READ_ERROR, SYNTAX_ERROR)
FORMATS: Tuple[str, ...] = (
    "text",
    "concise",
    "full",
    "json",
    "json-lines",
    "github",
    "gitlab",
    "sarif",
    "junit",
    "pylint",
)


def rule_codes() -> Tuple[str, ...]:
    from flake8_rqjobs.rules import ALL_RULES  # the rules only when codes are resolved

    return tuple(rule.code for rule in ALL_RULES)


# --- selection --------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """One layer of rule selection (a config file's, or the command line's)."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    extend_ignore: Tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self == Selection()


def _codes_list(key: str, value: object, source: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.replace("\n", ",").split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise ConfigError(f"rqjobs: {key} in {source} must be a list of codes, got {value!r}")
    codes = tuple(v.upper() for v in items if v)
    return codes


def check_selectors(codes: Sequence[str], key: str, source: str, known: Sequence[str]) -> None:
    for code in codes:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise ConfigError(
                f"rqjobs: unknown rule selector {code!r} in {key} ({source}); "
                f"codes: {', '.join(known)}"
            )


def selection_from(table: Mapping[str, object], source: str, prefix: str = "") -> Selection:
    values: Dict[str, Tuple[str, ...]] = {}
    for key in ("select", "extend-select", "ignore", "extend-ignore"):
        if table.get(key) is not None:
            values[key] = _codes_list(prefix + key, table[key], source)
            known = (*rule_codes(), *ERROR_CODES)
            check_selectors(values[key], prefix + key, source, known)
    return Selection(
        select=values.get("select"),
        extend_select=values.get("extend-select", ()),
        ignore=values.get("ignore", ()),
        extend_ignore=values.get("extend-ignore", ()),
    )


@functools.lru_cache(maxsize=64)
def selected_codes(layers: Tuple[Selection, ...]) -> FrozenSet[str]:
    """:func:`resolve_selection` over every known code (imports the rules)."""
    return resolve_selection(layers, (*rule_codes(), *ERROR_CODES))


def resolve_selection(layers: Sequence[Selection], known: Sequence[str]) -> FrozenSet[str]:
    """The selected codes after the layers (ruff's rule-selection semantics)."""
    every = tuple(known)

    def matching(prefix: str) -> List[str]:
        return list(every) if prefix == "ALL" else [c for c in every if c.startswith(prefix)]

    chosen = {c for c in every if c.startswith("RQJ") or c in ERROR_CODES}
    for layer in layers:
        ops: List[Tuple[str, bool]] = []
        if layer.select is not None:
            chosen = {c for c in every if c in ERROR_CODES}
            ops += [(p, True) for p in layer.select]
        ops += [(p, True) for p in layer.extend_select]
        ops += [(p, False) for p in (*layer.ignore, *layer.extend_ignore)]
        ops.sort(key=lambda op: (len(op[0]) if op[0] != "ALL" else 0, not op[1]))
        for prefix, add in ops:
            if add:
                chosen.update(matching(prefix))
            else:
                chosen.difference_update(matching(prefix))
    return frozenset(chosen)


@dataclass(frozen=True)
class PerFileIgnore:
    pattern: str  # absolute, POSIX-normalised
    basename: str  # the pattern as written (flake8 and ruff also match the base name)
    negated: bool
    codes: Tuple[str, ...]

    def applies(self, absolute: str) -> bool:
        hit = fnmatch(absolute, self.pattern) or fnmatch(os.path.basename(absolute), self.basename)
        return hit != self.negated


def per_file_ignores_from(value: object, root: Path, source: str) -> Tuple[PerFileIgnore, ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"rqjobs: per-file-ignores in {source} must be a table")
    known = (*rule_codes(), *ERROR_CODES)
    found = []
    for pattern, codes in value.items():
        listed = _codes_list(f"per-file-ignores.{pattern!r}", codes, source)
        check_selectors(listed, "per-file-ignores", source, known)
        negated = pattern.startswith("!")
        text = pattern[1:] if negated else pattern
        absolute = os.path.normpath(os.path.join(str(root), text))
        found.append(PerFileIgnore(absolute, text, negated, listed))
    return tuple(found)


# --- per-directory settings ---------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """Everything that decides what ``check`` reports for the files of one directory."""

    config: Config
    layers: Tuple[Selection, ...] = ()
    per_file_ignores: Tuple[PerFileIgnore, ...] = ()
    flake8_ignores: Ignores = field(default_factory=lambda: Ignores({}))
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    exclude_source: Optional[str] = None  # the file whose exclude applies (None: defaults)
    output_format: Optional[str] = None
    pyproject: Optional[Path] = None
    flake8_file: Optional[str] = None

    @property
    def fingerprint(self) -> str:
        """What the cached results of a file depend on, besides its text."""
        return hashlib.sha256(repr(self.config).encode("utf-8")).hexdigest()[:16]

    @property
    def selected(self) -> FrozenSet[str]:
        return selected_codes(self.layers)

    def is_excluded(self, path: str, absolute: Optional[str] = None) -> bool:
        """flake8's test: the base name or the absolute path matches an exclude pattern."""
        names, full = _exclude_regexes(self.exclude)
        name = os.path.basename(path)
        if names is not None and name not in (".", "..") and names.match(name):
            return True
        if full is None:
            return False
        return full.match(absolute or os.path.abspath(path)) is not None

    def hides(self, path: str, code: str) -> bool:
        if code not in self.selected:
            return True
        absolute = os.path.abspath(path)
        for entry in self.per_file_ignores:
            if entry.applies(absolute) and any(code.startswith(c) for c in entry.codes):
                return True
        if code in ERROR_CODES:
            return any(code.startswith(c) for c in self.flake8_ignores.codes)
        return self.flake8_ignores.hides(path, code)


@functools.lru_cache(maxsize=64)
def _exclude_regexes(
    patterns: Tuple[str, ...],
) -> Tuple[Optional[Pattern[str]], Optional[Pattern[str]]]:
    """(regex for base names, regex for absolute paths): only a pattern that starts with a
    wildcard or a separator can match an absolute path."""

    def compiled(chosen: Sequence[str]) -> Optional[Pattern[str]]:
        if not chosen:
            return None
        return re.compile("|".join(f"(?:{translate(os.path.normcase(p))})" for p in chosen))

    starts = ("*", "?", "[", os.sep, os.path.altsep or os.sep)
    return compiled(patterns), compiled([p for p in patterns if p.startswith(starts)])


def _comma_list(text: str) -> List[str]:
    """flake8's ``parse_comma_separated_list``."""
    return [item.strip() for item in re.split(r"[,\s]", text) if item.strip()]


def _normalize(path: str, parent: str = os.curdir) -> str:
    """flake8's ``normalize_path``: a pattern with a separator is made absolute."""
    alternate = os.path.altsep or ""
    if path == "." or os.sep in path or (alternate and alternate in path):
        path = os.path.abspath(os.path.join(parent, path))
    return path.rstrip(os.sep + alternate)


def _has_flake8_section(filename: str) -> bool:
    parser = configparser.RawConfigParser()
    try:
        parser.read(filename, encoding="UTF-8")
    except (UnicodeDecodeError, configparser.Error):
        return False
    return "flake8" in parser or "flake8:local-plugins" in parser


class Resolver:
    """Settings per directory, memoised (one lookup per folder, one read per config file)."""

    def __init__(
        self,
        cli_options: Optional[Mapping[str, object]] = None,
        cli_selection: Selection = Selection(),
        isolated: bool = False,
        config_file: Optional[str] = None,
        cli_exclude: Optional[str] = None,
        cli_extend_exclude: Optional[str] = None,
        cwd: Optional[str] = None,
    ) -> None:
        self.cli_options = {k: v for k, v in (cli_options or {}).items() if v is not None}
        self.cli_selection = cli_selection
        self.isolated = isolated
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.cli_exclude = cli_exclude
        self.cli_extend_exclude = cli_extend_exclude
        self.home = os.path.abspath(os.path.expanduser("~"))
        self._pyproject: Dict[str, Optional[Path]] = {}
        self._flake8: Dict[str, Optional[str]] = {}
        self._tables: Dict[Path, Dict[str, object]] = {}
        self._settings: Dict[Tuple[Optional[Path], Optional[str]], Settings] = {}
        self._by_dir: Dict[str, Settings] = {}
        self.forced_pyproject: Optional[Path] = None
        self.forced_flake8: Optional[str] = None
        if config_file is not None:
            if not os.path.isfile(config_file):
                raise ConfigError(f"rqjobs: --config {config_file}: no such file")
            if config_file.endswith(".toml"):
                self.forced_pyproject = Path(config_file).resolve()
            else:
                if not _has_flake8_section(config_file):
                    raise ConfigError(f"rqjobs: --config {config_file}: no [flake8] section")
                self.forced_flake8 = os.path.abspath(config_file)
        self.forced = config_file is not None
        self.default_config = Config(root=Path(self.cwd)) if (isolated or self.forced) else None

    # --- lookups ------------------------------------------------------------------------
    def _table(self, path: Path) -> Dict[str, object]:
        if path not in self._tables:
            self._tables[path] = read_pyproject(path)
        return self._tables[path]

    def _has_table(self, path: Path) -> bool:
        if tomllib is None:  # pragma: no cover - Python < 3.11 without tomli
            return False
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"rqjobs: cannot read {path}: {exc}") from None
        tool = data.get("tool")
        if isinstance(tool, dict) and "rqjobs" in tool:
            self._tables[path.resolve()] = read_pyproject(path)
            return True
        return False

    def nearest_pyproject(
        self, directory: str, names: Optional[Collection[str]] = None
    ) -> Optional[Path]:
        """The nearest ``pyproject.toml`` with a ``[tool.rqjobs]`` table at or above it
        (``names``: the directory's file names, when the caller listed it)."""
        if directory in self._pyproject:
            return self._pyproject[directory]
        candidate = Path(directory, "pyproject.toml")
        found: Optional[Path] = None
        present = "pyproject.toml" in names if names is not None else candidate.is_file()
        if present and self._has_table(candidate):
            found = candidate.resolve()
        else:
            parent = os.path.dirname(directory)
            found = None if parent == directory else self.nearest_pyproject(parent)
        self._pyproject[directory] = found
        return found

    def nearest_flake8(
        self, directory: str, names: Optional[Collection[str]] = None
    ) -> Optional[str]:
        """The flake8 config file flake8 would read if run from ``directory``."""
        if directory in self._flake8:
            return self._flake8[directory]
        found: Optional[str] = None
        for name in ("setup.cfg", "tox.ini", ".flake8"):
            if names is not None and name not in names:
                continue
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and _has_flake8_section(candidate):
                found = candidate
                break
        else:
            parent = os.path.dirname(directory)
            if parent != directory and parent != self.home:
                found = self.nearest_flake8(parent)
        self._flake8[directory] = found
        return found

    # --- settings -----------------------------------------------------------------------
    def for_directory(self, directory: str, names: Optional[Collection[str]] = None) -> Settings:
        """The settings of the files directly in ``directory`` (``names``: its file names,
        when the caller listed it: saves the config files' stat calls)."""
        directory = os.path.abspath(directory)
        settings = self._by_dir.get(directory)
        if settings is not None:
            return settings
        if self.isolated:
            pyproject, flake8_file = None, None
        elif self.forced:
            pyproject, flake8_file = self.forced_pyproject, self.forced_flake8
        else:
            pyproject, flake8_file = (
                self.nearest_pyproject(directory),
                self.nearest_flake8(directory),
            )
        key = (pyproject, flake8_file)
        settings = self._settings.get(key)
        if settings is None:
            settings = self._build(pyproject, flake8_file)
            self._settings[key] = settings
        self._by_dir[directory] = settings
        return settings

    def config_files(self) -> List[str]:
        """Every configuration file the settings so far were built from."""
        found = {str(p) for p, _ in self._settings if p is not None}
        found |= {f for _, f in self._settings if f is not None}
        return sorted(found)

    def for_file(self, path: str) -> Settings:
        return self.for_directory(os.path.dirname(os.path.abspath(path)))

    def _build(self, pyproject: Optional[Path], flake8_file: Optional[str]) -> Settings:
        layers: List[Selection] = []
        per_file: Tuple[PerFileIgnore, ...] = ()
        output_format: Optional[str] = None
        if pyproject is not None:
            table = self._table(pyproject)
            config = apply_settings(Config(root=pyproject.parent), table, str(pyproject))
            layers.append(selection_from(table, str(pyproject)))
            if table.get("per-file-ignores") is not None:
                per_file = per_file_ignores_from(
                    table["per-file-ignores"], pyproject.parent, str(pyproject)
                )
            if table.get("output-format") is not None:
                output_format = check_format(table["output-format"], str(pyproject))
        elif self.default_config is not None:
            config = self.default_config
        else:
            config = load_config(Path(self.cwd))  # the plugin's: from the working directory
        ignores = Ignores({})
        section: Dict[str, str] = {}
        if flake8_file is not None:
            config = apply_settings(
                config, flake8_config_settings(flake8_file), flake8_file, prefix="rqjobs-"
            )
            section = _flake8_section(flake8_file)
            ignores = Ignores(section)
        config = apply_settings(config, self.cli_options, "command line", prefix="--rqjobs-")
        layers.append(self.cli_selection)
        exclude, source = self._exclude(flake8_file, section)
        return Settings(
            config=config,
            layers=tuple(layers),
            per_file_ignores=per_file,
            flake8_ignores=ignores,
            exclude=exclude,
            exclude_source=source,
            output_format=output_format,
            pyproject=pyproject,
            flake8_file=flake8_file,
        )

    def _exclude(
        self, flake8_file: Optional[str], section: Mapping[str, str]
    ) -> Tuple[Tuple[str, ...], Optional[str]]:
        """flake8's ``exclude`` + ``extend-exclude`` (see
        :func:`flake8_rqjobs.flake8_compat.exclude_patterns`): the command line wins, config
        patterns with a ``/`` are relative to the config file's folder."""
        parent = os.path.dirname(flake8_file) if flake8_file else self.cwd
        source: Optional[str] = None

        def patterns(cli: Optional[str], key: str, default: Sequence[str]) -> List[str]:
            nonlocal source
            if cli is not None:
                return [_normalize(p) for p in _comma_list(cli)]
            if key in section:
                source = flake8_file
                return [_normalize(p, parent) for p in _comma_list(section[key])]
            return list(default)

        found = patterns(self.cli_exclude, "exclude", DEFAULT_EXCLUDE) + patterns(
            self.cli_extend_exclude, "extend-exclude", ()
        )
        return tuple(found), source


def check_format(value: object, source: str) -> str:
    if not isinstance(value, str) or value not in FORMATS:
        raise ConfigError(
            f"rqjobs: output-format in {source} must be one of {', '.join(FORMATS)}, got {value!r}"
        )
    return value


__all__ = [
    "ERROR_CODES",
    "FORMATS",
    "LINT_OPTIONS",
    "READ_ERROR",
    "SYNTAX_ERROR",
    "PerFileIgnore",
    "Resolver",
    "Selection",
    "Settings",
    "resolve_selection",
]
