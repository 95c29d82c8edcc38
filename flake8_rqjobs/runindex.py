"""The whole-run index of ``flake8-rqjobs check``: a re-run on an unchanged tree prints the
stored output without importing the rules (ruff's cached run costs about as little).

After a run with the cache on, ``check`` writes ``run-<key>.idx`` in its cache folder: the
run's key (the tool's version, the argument list, the working directory, the environment
variables the run reads, the interpreter) and the stat of everything the output depends on:

- every file checked, every Python file the project-facts pass read (also outside the run:
  pre-commit hands over staged files only), the configuration files that apply (and the
  absence of those that might: ``pyproject.toml``, ``setup.cfg``, ``tox.ini``, ``.flake8`` in
  every folder above the run's paths) and the tool's own source files: size, mtime, ctime;
- every folder walked (by the discovery and by the facts pass): mtime and ctime, which change
  when a file is added, removed or renamed in it;

and the run's output (what went to stdout or ``--output-file``, stderr, the exit status).
:func:`replay` (the first thing ``check`` does) stats all of them; when every one matches it
prints the stored output and ``check`` stops there; any difference (or no index) and the
normal run goes on, with its per-file cache, and writes a new index.

Like git's index, a stat is trusted only when the file was last modified well before the
run started: when anything recorded (but the tool's own sources, as for the per-file
cache's tool stamp) was modified within 2 s of the start (an edit in the same clock tick
could go unseen), no index is written. ``--no-cache`` neither reads nor
writes it; ``--statistics`` (whose output counts the files parsed) never uses it.

This module imports nothing of the linter: it is what a warm run costs.
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing is a tenth of a warm run
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

    from flake8_rqjobs.commands.check import Discovery

FORMAT = 2
RACY_NS = 2_000_000_000
CONFIG_NAMES = ("pyproject.toml", "setup.cfg", "tox.ini", ".flake8")
ENV = ("RQJOBS_CACHE_DIR", "RQJOBS_NO_FACTS_CACHE", "CI_PROJECT_DIR", "HOME")
MAX_INDEXES = 16  # per cache folder: one per argument list, the oldest dropped
PACKAGE = os.path.dirname(os.path.abspath(__file__))

# What the last :func:`replay` did, for ``-v`` and the tests: "replayed", "missing" (no
# index for this key), "changed" (some stat differs), "off" (``--no-cache``).
last_replay = ""


def _key(argv: Sequence[str]) -> Tuple[Any, ...]:
    from flake8_rqjobs import __version__

    env = tuple(os.environ.get(name) for name in ENV)
    return (FORMAT, __version__, tuple(argv), os.getcwd(), env, sys.version, sys.executable)


def locate(argv: Sequence[str]) -> Optional[str]:
    """The cache folder ``check`` uses for ``argv`` (``None``: ``--no-cache``), without
    argparse: the writer checks that argparse agrees before it writes an index."""
    chosen: Optional[str] = None
    for index, arg in enumerate(argv):
        if arg == "--no-cache":
            return None
        if arg == "--cache-dir" and index + 1 < len(argv):
            chosen = argv[index + 1]
        elif arg.startswith("--cache-dir="):
            chosen = arg[len("--cache-dir=") :]
    if chosen is not None:
        return chosen
    env = os.environ.get("RQJOBS_CACHE_DIR")
    if env:
        return env
    here = os.path.realpath(os.getcwd())
    directory = here
    while True:
        if os.path.isfile(os.path.join(directory, "pyproject.toml")):
            return os.path.join(directory, ".rqjobs_cache")
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.join(here, ".rqjobs_cache")
        directory = parent


def _index_path(folder: str, key: Tuple[Any, ...]) -> str:
    import zlib

    return os.path.join(folder, f"run-{zlib.crc32(repr(key).encode('utf-8')):08x}.idx")


def replay(argv: Sequence[str]) -> Optional[int]:
    """Print the stored output of the same run and return its exit status, when nothing it
    depends on changed; ``None``: run ``check`` normally."""
    global last_replay
    folder = locate(argv)
    if folder is None:
        last_replay = "off"
        return None
    key = _key(argv)
    try:
        with open(_index_path(folder, key), "rb") as handle:
            index = marshal.loads(handle.read())  # (load from a file reads piecemeal: slow)
    except (OSError, ValueError, EOFError, TypeError):
        last_replay = "missing"
        return None
    if not isinstance(index, dict) or index.get("key") != key:
        last_replay = "missing"
        return None
    if not _unchanged(index):
        last_replay = "changed"
        return None
    last_replay = "replayed"
    target = index["output_file"]
    if target is None:
        sys.stdout.write(index["out"])
        sys.stdout.flush()
    else:
        with open(target, "w", encoding="utf-8") as out:
            out.write(index["out"])
    if index["err"]:
        sys.stderr.write(index["err"])
    return int(index["code"])


def _unchanged(index: Dict[str, Any]) -> bool:
    # The paths as one NUL-separated string and the stats as one list of ints: a few
    # objects to unmarshal rather than thousands (the load was as slow as the stats).
    text = index["paths"]
    paths = text.split("\0") if text else []
    stats = index["stats"]  # per path: size (-1 for a folder), mtime_ns, ctime_ns
    if len(stats) != 3 * len(paths):
        return False
    stat = os.stat
    i = 0
    try:
        for path in paths:
            st = stat(path)
            if st.st_mtime_ns != stats[i + 1] or st.st_ctime_ns != stats[i + 2]:
                return False
            size = stats[i]
            if size >= 0 and st.st_size != size:
                return False
            i += 3
    except OSError:
        return False
    text = index["absent"]
    for path in text.split("\0") if text else ():
        try:
            stat(path)
        except FileNotFoundError:
            continue
        except OSError:
            return False
        return False
    return True


# --- writing it (after a normal run) ------------------------------------------------------
def forget(argv: Sequence[str]) -> None:
    """Drop the index of ``argv`` (a normal run is under way: it is stale, or soon)."""
    folder = locate(argv)
    if folder is not None:
        try:
            os.unlink(_index_path(folder, _key(argv)))
        except OSError:
            pass


def _ancestors(path: str) -> Iterable[str]:
    directory = path
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def _tool_files() -> List[str]:
    found = []
    for directory, subdirs, names in os.walk(PACKAGE):
        subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        found += [os.path.join(directory, n) for n in names if n.endswith(".py")]
    return found


def record(
    argv: Sequence[str],
    cache_dir: str,
    started_ns: int,
    discovery: Discovery,
    facts_roots: Iterable[str],
    config_files: Iterable[str],
    out: str,
    output_file: Optional[str],
    err: str,
    code: int,
) -> bool:
    """Write the index of this run (see the module doc); ``False`` when it cannot be
    trusted (a file modified since shortly before ``started_ns``, a path that could not be
    read, facts over a truncated walk, a cache folder argparse and :func:`locate` disagree
    on)."""
    from flake8_rqjobs import facts as project_facts

    folder = locate(argv)
    if folder is None or os.path.abspath(folder) != os.path.abspath(cache_dir):
        return False
    cache_abs = os.path.abspath(cache_dir)
    files: Dict[str, None] = {}
    dirs: Dict[str, None] = {}
    probe: Dict[str, None] = {}  # folders whose config files are stat'ed whether or not present
    for path, _ in discovery.files:
        files[os.path.abspath(path)] = None
    for directory in discovery.dirs:
        dirs[directory] = None
    for path in discovery.config_files:
        files[path] = None
    for path in config_files:
        files[os.path.abspath(path)] = None
    for root in facts_roots:
        inputs = project_facts.INPUTS.get(root)
        if inputs is None or inputs.truncated:
            return False
        dirs.update(dict.fromkeys(inputs.dirs))
        files.update(dict.fromkeys(inputs.files))
        probe.update(dict.fromkeys(_ancestors(root)))
    for path in (os.getcwd(), *discovery.arguments):
        absolute = os.path.abspath(path)
        folder_of = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
        probe.update(dict.fromkeys(_ancestors(folder_of)))
    tool = _tool_files()  # no racy rule for these: as the per-file cache's tool stamp
    absent: List[str] = []
    for directory in probe:
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.exists(candidate):
                files[candidate] = None
            elif directory not in dirs:  # a walked folder's mtime tells when one appears
                absent.append(candidate)
    for path, _ in discovery.missing:
        absent.append(os.path.abspath(path))
    dirs.pop(cache_abs, None)
    limit = started_ns - RACY_NS
    paths: List[str] = []
    stats: List[int] = []
    try:
        for path in files:
            st = os.stat(path)
            if st.st_mtime_ns >= limit:
                return False
            paths.append(path)
            stats += [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        for path in tool:
            st = os.stat(path)
            paths.append(path)
            stats += [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        for path in dirs:
            st = os.stat(path)
            if st.st_mtime_ns >= limit:
                return False
            paths.append(path)
            stats += [-1, st.st_mtime_ns, st.st_ctime_ns]
    except OSError:
        return False
    if any("\0" in p for p in paths) or any("\0" in p for p in absent):
        return False  # (no such path on a POSIX system)
    key = _key(argv)
    index = {
        "key": key,
        "paths": "\0".join(paths),
        "stats": stats,
        "absent": "\0".join(absent),
        "out": out,
        "output_file": output_file,
        "err": err,
        "code": code,
    }
    target = _index_path(cache_dir, key)
    temp = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(cache_dir, exist_ok=True)
        with open(temp, "wb") as handle:
            marshal.dump(index, handle)
        os.replace(temp, target)
        _prune(cache_dir)
    except (OSError, ValueError):
        try:
            os.unlink(temp)
        except OSError:
            pass
        return False
    return True


def _prune(folder: str) -> None:
    try:
        names = [n for n in os.listdir(folder) if n.startswith("run-") and n.endswith(".idx")]
    except OSError:
        return
    if len(names) <= MAX_INDEXES:
        return
    paths = sorted((os.path.join(folder, n) for n in names), key=os.path.getmtime)
    for path in paths[: len(paths) - MAX_INDEXES]:
        try:
            os.unlink(path)
        except OSError:
            pass
