"""Configuration shared by the flake8 plugin, ``flake8-rqjobs check`` and the codemods.

Values come from ``[tool.rqjobs]`` in the nearest ``pyproject.toml`` (walking up from the
working directory) and are overridden by flake8 options (``--rqjobs-*`` on the command line,
``.flake8``, ``setup.cfg``, ``tox.ini``). flake8 itself never reads ``pyproject.toml``.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    try:
        import tomli as tomllib
    except ImportError:  # a dependency on < 3.11; only needed when a pyproject.toml exists
        tomllib = None  # type: ignore[assignment]


class ConfigError(ValueError):
    """A bad configuration value; the message names the offending option."""


DEFAULT_WRAPPER_MODULES: Tuple[str, ...] = ("*/services/jobs.py",)
DEFAULT_EVENT_JOBS: Tuple[str, ...] = (
    "*webhook*_job",
    "push_send_job",
    "*recording*_job",
    "*twilio_callback*",
)
DEFAULT_DEPRECATED: Tuple[str, ...] = (
    "start_*_scheduler",
    "_start_*_scheduler",
    "start_session_processor",
)
# Matched against the whole path relative to the root, where ``*`` also matches ``/``:
# this is "any path segment containing 'sched'" (scheduler, sched, scheduling, schedules).
DEFAULT_SCHEDULER_PATHS: Tuple[str, ...] = ("*sched*",)
DEFAULT_MAX_TICK = 15.0
DEFAULT_QUEUE_FACTORIES: Tuple[str, ...] = ("get_queue", "django_rq.get_queue")
DEFAULT_WRAPPER_MODULE = "rqjobs"
# Third-party functions that build a Redis client (RQJ001), as canonical dotted names.
DEFAULT_CLIENT_CONSTRUCTORS: Tuple[str, ...] = (
    "redis_sentinel_url.connect",
    "redis_om.get_redis_connection",
    "django_rq.get_connection",
)
# Words that make an HTTP handler a receiver of deliveries (RQJ300) when its route path,
# router prefix, module, class or function name holds one (a plural counts too).
DEFAULT_EVENT_WORDS: Tuple[str, ...] = (
    "webhook",
    "hook",
    "callback",
    "notification",
    "event",
    "sns",
    "listener",
    "receiver",
    "inbound",
    "incoming",
)
# Name globs of message-consumer callbacks (SQS/SNS, Pub/Sub, Kafka, AMQP) for RQJ300, besides
# the functions registered as one (on_message_callback=, subscribe(..., callback=)).
DEFAULT_CONSUMER_CALLBACKS: Tuple[str, ...] = (
    "on_message",
    "on_*_message",
    "handle_message",
    "handle_*_message",
    "process_message",
    "consume_message",
    "*_message_handler",
)

# pyproject key -> (Config field, kind)
OPTIONS: dict[str, tuple[str, str]] = {
    "wrapper-modules": ("wrapper_modules", "list"),
    "event-jobs": ("event_jobs", "list"),
    "deprecated": ("deprecated", "list"),
    "scheduler-paths": ("scheduler_paths", "list"),
    "max-tick": ("max_tick", "number"),
    "queue-factories": ("queue_factories", "list"),
    "wrapper-module": ("wrapper_module", "module"),
    "event-words": ("event_words", "list"),
    "consumer-callbacks": ("consumer_callbacks", "list"),
    "client-constructors": ("client_constructors", "list"),
}
# ``[tool.rqjobs]`` keys that only ``flake8-rqjobs check`` (and ``fix``) read: which findings
# are shown and how (validated in :mod:`flake8_rqjobs.project`). flake8 has its own.
LINT_OPTIONS: Tuple[str, ...] = (
    "select",
    "extend-select",
    "ignore",
    "extend-ignore",
    "per-file-ignores",
    "output-format",
)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


def _absolute_root(root: str) -> str:
    return _absolute_path(root) if os.path.isabs(root) else os.path.abspath(root)


@functools.lru_cache(maxsize=256)
def _absolute_path(root: str) -> str:
    return os.path.abspath(root)  # normalized; only absolute roots are cached (no cwd)


@dataclass(frozen=True)
class Config:
    """Effective settings for one run (immutable, hashable)."""

    wrapper_modules: Tuple[str, ...] = DEFAULT_WRAPPER_MODULES
    event_jobs: Tuple[str, ...] = DEFAULT_EVENT_JOBS
    deprecated: Tuple[str, ...] = DEFAULT_DEPRECATED
    scheduler_paths: Tuple[str, ...] = DEFAULT_SCHEDULER_PATHS
    max_tick: float = DEFAULT_MAX_TICK
    queue_factories: Tuple[str, ...] = DEFAULT_QUEUE_FACTORIES
    wrapper_module: str = DEFAULT_WRAPPER_MODULE
    event_words: Tuple[str, ...] = DEFAULT_EVENT_WORDS
    consumer_callbacks: Tuple[str, ...] = DEFAULT_CONSUMER_CALLBACKS
    client_constructors: Tuple[str, ...] = DEFAULT_CLIENT_CONSTRUCTORS
    root: Path = field(default=Path("."))

    # --- paths -------------------------------------------------------------------------
    def relative_path(self, filename: str) -> str:
        """``filename`` as a POSIX path relative to the root (absolute when outside it)."""
        absolute = os.path.abspath(filename)
        root = _absolute_root(str(self.root))
        if absolute.startswith(root) and absolute[len(root) : len(root) + 1] == os.sep:
            return _posix(absolute[len(root) + 1 :])  # the common case, without relpath
        try:
            rel = os.path.relpath(absolute, root)
        except ValueError:  # pragma: no cover - different drives on Windows
            rel = absolute
        if rel == ".." or rel.startswith(".." + os.sep):
            rel = absolute
        return _posix(rel)

    def _matches(self, filename: str, patterns: Tuple[str, ...]) -> bool:
        rel = self.relative_path(filename)
        # A leading "*/" also matches at the root: "*/services/jobs.py" ~ "services/jobs.py".
        candidates = (rel, "/" + rel.lstrip("/"))
        return any(fnmatchcase(c, p) for p in patterns for c in candidates)

    def is_sanctioned(self, filename: str) -> bool:
        """True for the wrapper modules and for the ``rqjobs`` runtime package itself."""
        if self._matches(filename, self.wrapper_modules):
            return True
        parts = self.relative_path(filename).split("/")
        return "rqjobs" in parts[:-1]

    def is_scheduler_path(self, filename: str) -> bool:
        """True when the file is scheduler code by its path (``scheduler-paths``)."""
        return self._matches(filename, self.scheduler_paths)

    # --- modules -----------------------------------------------------------------------
    def is_wrapper_module(self, module: str) -> bool:
        """True when the dotted module name is the runtime or a configured wrapper."""
        if module in ("rqjobs", self.wrapper_module):
            return True
        if module.startswith("rqjobs.") or module.startswith(self.wrapper_module + "."):
            return True
        for pattern in self.wrapper_modules:
            dotted = _posix(pattern)
            if dotted.endswith(".py"):
                dotted = dotted[:-3]
            if dotted.endswith("/__init__"):
                dotted = dotted[: -len("/__init__")]
            dotted = dotted.replace("/", ".")
            if fnmatchcase(module, dotted) or fnmatchcase("." + module, dotted):
                return True
        return False


def _as_list(key: str, value: object) -> Tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.replace("\n", ",").split(",")]
    elif isinstance(value, (list, tuple)):
        items = []
        for v in value:
            if not isinstance(v, str):
                raise ConfigError(f"rqjobs: {key} must be a list of strings, got {v!r}")
            items.append(v.strip())
    else:
        raise ConfigError(f"rqjobs: {key} must be a list of strings, got {value!r}")
    return tuple(v for v in items if v)


def _as_number(key: str, value: object) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"rqjobs: {key} must be a positive number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"rqjobs: {key} must be a positive number, got {str(value)!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"rqjobs: {key} must be a positive number, got {str(value)!r}")
    return number


def _as_module(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"rqjobs: {key} must be a dotted module name, got {value!r}")
    text = value.strip()
    if not all(part.isidentifier() for part in text.split(".")):
        raise ConfigError(f"rqjobs: {key} must be a dotted module name, got {text!r}")
    return text


def apply_settings(
    config: Config, settings: Mapping[str, object], source: str, prefix: str = ""
) -> Config:
    """Return ``config`` updated with ``settings`` (pyproject key names); validates them.

    ``prefix`` is put before a key in error messages (``"--rqjobs-"`` for flake8 options).
    """
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        if key in LINT_OPTIONS:
            continue  # read by the check command (flake8_rqjobs.project)
        if key not in OPTIONS:
            known = ", ".join(sorted([*OPTIONS, *LINT_OPTIONS]))
            raise ConfigError(f"rqjobs: unknown option {key!r} in {source} (known: {known})")
        if value is None:
            continue
        name, kind = OPTIONS[key]
        label = prefix + key
        if kind == "list":
            changes[name] = _as_list(label, value)
        elif kind == "number":
            changes[name] = _as_number(label, value)
        else:
            changes[name] = _as_module(label, value)
    return replace(config, **changes) if changes else config


def find_pyproject(start: Optional[Path] = None) -> Optional[Path]:
    """The nearest ``pyproject.toml`` in ``start`` (default: cwd) or a parent directory."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_pyproject(path: Path) -> dict[str, object]:
    """The ``[tool.rqjobs]`` table of ``path`` (empty when absent)."""
    if tomllib is None:  # pragma: no cover - Python < 3.11 without tomli
        raise ConfigError(f"rqjobs: cannot read {path}: install tomli on Python < 3.11")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"rqjobs: cannot read {path}: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get("rqjobs", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"rqjobs: [tool.rqjobs] in {path} must be a table")
    return table


def load_config(
    start: Optional[Path] = None, overrides: Optional[Mapping[str, object]] = None
) -> Config:
    """Read ``[tool.rqjobs]`` from the nearest pyproject.toml, then apply ``overrides``.

    ``overrides`` use the pyproject key names (``"max-tick"``, ...); ``None`` values are
    ignored, so flake8 options that were not given do not hide the pyproject values.
    Raises :class:`ConfigError` for unknown keys and bad values.
    """
    pyproject = find_pyproject(start)
    if pyproject is not None:
        config = Config(root=pyproject.parent)
        config = apply_settings(config, read_pyproject(pyproject), str(pyproject))
    else:
        base = Path(start).resolve() if start is not None else Path.cwd()
        config = Config(root=base.parent if base.is_file() else base)
    if overrides:
        config = apply_settings(config, overrides, "options")
    return config
