"""The content-hash cache of ``flake8-rqjobs check`` (``--no-cache`` skips it).

Stored like ruff's: a ``.rqjobs_cache`` folder in the project root (the working directory's
nearest ``pyproject.toml`` folder, else the working directory; ``--cache-dir`` or
``RQJOBS_CACHE_DIR`` elsewhere), with a ``.gitignore`` of ``*`` and a ``CACHEDIR.TAG``. One JSON
file per tool stamp (the version plus the linter's own source files, so that any change of
the rules starts a new cache); in it, per absolute path: the file's size, mtime, SHA-256 of
its bytes, the fingerprint of the effective configuration, and the result (findings after
``# noqa``, before selection, which is applied on every run).

A result is reused when the fingerprint and the SHA-256 match. The hash is skipped only when
size and mtime match and the file was last modified well before the entry was written (git's
"racy clean" rule), so an edit in the same clock tick is still seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from flake8_rqjobs import __version__

CACHE_DIR_NAME = ".rqjobs_cache"
RACY_NS = 2_000_000_000  # a file modified this close to its entry's time is always hashed

# A result: (sites, error); a site is (line, col, end_line, end_col, code, message) with
# 0-based UTF-8 byte columns (ast's); an error is (code, line, col, message).
Site = Tuple[int, int, int, int, str, str]
Error = Tuple[str, int, int, str]
Result = Tuple[List[Site], Optional[Error]]


def tool_stamp() -> str:
    """The tool's version and a digest of its linter sources' sizes and mtimes."""
    package = Path(__file__).resolve().parent
    parts = [__version__]
    for sub in ("", "rules"):
        folder = package / sub if sub else package
        try:
            names = sorted(os.listdir(folder))
        except OSError:  # pragma: no cover
            continue
        for name in names:
            if name.endswith(".py"):
                st = os.stat(folder / name)
                parts.append(f"{sub}/{name}:{st.st_size}:{st.st_mtime_ns}")
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]
    return f"{__version__}-{digest}"


def default_cache_dir(cwd: Optional[str] = None) -> Path:
    env = os.environ.get("RQJOBS_CACHE_DIR")
    if env:
        return Path(env)
    here = Path(cwd or os.getcwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "pyproject.toml").is_file():
            return directory / CACHE_DIR_NAME
    return here / CACHE_DIR_NAME


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Cache:
    """Load once, look up and store per file, save once (atomically)."""

    def __init__(self, directory: Path, stamp: Optional[str] = None) -> None:
        self.directory = directory
        self.stamp = stamp or tool_stamp()
        self.file = directory / f"results-{self.stamp}.json"
        self.entries: Dict[str, List[Any]] = {}
        self.changed = False
        self.hits = 0
        try:
            with open(self.file, encoding="utf-8") as handle:
                data = json.load(handle)
            if isinstance(data, dict) and data.get("stamp") == self.stamp:
                entries = data.get("files", {})
                if isinstance(entries, dict):
                    self.entries = entries
        except (OSError, ValueError):
            pass

    # entry: [size, mtime_ns, sha256, fingerprint, written_ns, sites, error]
    def by_stat(self, path: str, st: os.stat_result, fingerprint: str) -> Optional[Result]:
        entry = self.entries.get(path)
        if entry is None or entry[3] != fingerprint:
            return None
        if entry[0] != st.st_size or entry[1] != st.st_mtime_ns:
            return None
        if st.st_mtime_ns >= entry[4] - RACY_NS:
            return None  # racy: modified too close to when the entry was written
        self.hits += 1
        return _result(entry)

    def by_hash(
        self, path: str, st: os.stat_result, sha: str, fingerprint: str
    ) -> Optional[Result]:
        entry = self.entries.get(path)
        if entry is None or entry[3] != fingerprint or entry[2] != sha:
            return None
        self.hits += 1
        if (
            entry[0] != st.st_size
            or entry[1] != st.st_mtime_ns
            or st.st_mtime_ns >= entry[4] - RACY_NS
        ):
            entry[0], entry[1], entry[4] = st.st_size, st.st_mtime_ns, time.time_ns()
            self.changed = True
        return _result(entry)

    def store(
        self, path: str, st: os.stat_result, sha: str, fingerprint: str, result: Result
    ) -> None:
        sites, error = result
        self.entries[path] = [
            st.st_size,
            st.st_mtime_ns,
            sha,
            fingerprint,
            time.time_ns(),
            [list(s) for s in sites],
            list(error) if error is not None else None,
        ]
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by flake8-rqjobs.\n*\n", encoding="utf-8")
            tag = self.directory / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n"
                    "# This file is a cache directory tag created by flake8-rqjobs.\n",
                    encoding="utf-8",
                )
            for old in self.directory.glob("results-*.json"):
                if old.name != self.file.name:
                    old.unlink(missing_ok=True)  # another version's cache
            handle, name = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                # dumps, not dump: the C encoder (dump to a file is pure Python)
                payload = {"stamp": self.stamp, "files": self.entries}
                out.write(json.dumps(payload, separators=(",", ":")))
            os.replace(name, self.file)
        except OSError:
            pass  # a read-only checkout: run without a cache


def _result(entry: List[Any]) -> Result:
    sites = [tuple(s) for s in entry[5]]
    error = tuple(entry[6]) if entry[6] is not None else None
    return sites, error  # type: ignore[return-value]
