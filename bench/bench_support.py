"""What every benchmark shares: a throwaway redis-server, and its own BENCHMARKS.md section.

The scripts run as ``python bench/NAME.py``, so this module is importable as ``bench_support``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(datadir: Path, databases: int = 4):  # type: ignore[no-untyped-def]
    """A throwaway redis-server on a free port (pytest-redis's executor, no persistence).

    The binary is ``$RQJOBS_TEST_REDIS_SERVER`` or ``redis-server`` from PATH. Stop it with
    ``.stop()``.
    """
    from pytest_redis.executor import RedisExecutor

    executor = RedisExecutor(
        executable=os.environ.get("RQJOBS_TEST_REDIS_SERVER", "redis-server"),
        databases=databases,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=free_port(),
        datadir=datadir,
    )
    executor.start()
    return executor


def replace_section(current: str, title: str, text: str) -> str:
    """``current`` with the ``title`` section (up to the next ``## `` heading) replaced by
    ``text``, which starts with the title line; appended when the section is missing."""
    text = text.rstrip("\n") + "\n"
    start = current.find(title + "\n")
    if start == -1:
        return current.rstrip("\n") + "\n\n" + text
    end = current.find("\n## ", start + len(title))
    tail = current[end + 1 :] if end != -1 else ""
    return current[:start] + text + ("\n" + tail if tail else "")


def write_section(title: str, text: str) -> None:
    """Rewrite this benchmark's section of BENCHMARKS.md, keeping every other section."""
    current = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    BENCHMARKS.write_text(replace_section(current, title, text), encoding="utf-8")
