"""The probes of issue 9: what the linter reports, ``fix`` either rewrites or answers with a
reason that names the fact making the rewrite unsafe, never the generic answer; and its
report uses the fixed file's line numbers throughout."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path
from typing import Iterator, List

import pytest

from flake8_rqjobs.commands.fix import main
from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.fixers.engine import UNANSWERED_REASON, TextFix, fix_source
from flake8_rqjobs.fixers.report import Options


def _fix(text: str, root: Path, relative: str = "app/tasks.py") -> TextFix:
    result = fix_source(text, str(root / relative), Config(root=root), Options(select=ALL_CODES))
    assert all(m.reason != UNANSWERED_REASON for m in result.manual), result.manual
    return result


def _reasons(result: TextFix, code: str) -> List[str]:
    return [m.text for m in result.manual if m.code == code]


def test_relative_import_of_the_wrappers_get_queue_is_fixed(tmp_path: Path) -> None:
    text = (
        'from ..services.jobs import get_queue\n\n\ndef f(job):\n    get_queue("x").enqueue(job)\n'
    )
    result = _fix(text, tmp_path, "app/api/routes.py")
    assert result.fixes == {"RQJ003": 1}
    assert result.new == 'from rqjobs import enqueue\n\n\ndef f(job):\n    enqueue("x", job)\n'


def test_absolute_import_of_the_wrappers_get_queue_is_fixed_the_same(tmp_path: Path) -> None:
    text = (
        "from app.services.jobs import get_queue\n\n\n"
        'def f(job):\n    get_queue("x").enqueue(job)\n'
    )
    result = _fix(text, tmp_path, "app/api/routes.py")
    # the import block of the original cannot be sorted with certainty here ("app" is of no
    # known section), so the new import goes first with one blank line, as before
    assert result.new == 'from rqjobs import enqueue\n\ndef f(job):\n    enqueue("x", job)\n'


def test_get_queue_of_rqjobs_queues_is_fixed(tmp_path: Path) -> None:
    result = _fix('from rqjobs.queues import get_queue\n\nget_queue("x").enqueue(job)\n', tmp_path)
    assert result.new == 'from rqjobs import enqueue\n\nenqueue("x", job)\n'


def test_redis_cluster_gets_a_specific_reason(tmp_path: Path) -> None:
    result = _fix("import redis\n\nr = redis.RedisCluster()\n", tmp_path)
    assert result.new is None
    (reason,) = _reasons(result, "RQJ001")
    assert "cluster" in reason and "single-node" in reason


def test_gevent_sleep_in_a_scheduler_loop_is_shortened(tmp_path: Path) -> None:
    text = "import gevent\n\ndef run_scheduler():\n    while True:\n        gevent.sleep(60)\n"
    result = _fix(text, tmp_path)
    assert result.new == text.replace("gevent.sleep(60)", "gevent.sleep(15)")


def test_starter_handed_to_a_thread_gets_a_specific_reason(tmp_path: Path) -> None:
    text = "from threading import Thread\n\nThread(target=start_x_scheduler).start()\n"
    result = _fix(text, tmp_path)
    (reason,) = _reasons(result, "RQJ100")
    assert "start_x_scheduler is handed to threading.Thread(target=...)" in reason


def test_local_subclass_of_rq_queue_gets_a_specific_reason(tmp_path: Path) -> None:
    text = (
        "from rq import Queue\nfrom rqjobs import get_redis\n\nclass MyQueue(Queue):\n"
        "    pass\n\nq = MyQueue('x', connection=get_redis())\n"
    )
    result = _fix(text, tmp_path)
    (reason,) = _reasons(result, "RQJ002")
    assert reason.startswith("MyQueue is a local subclass of rq.Queue")


LINES = textwrap.dedent(
    """\
    from rq import Queue

    from rqjobs import get_redis


    def run_scheduler():
        try:
            tick()
        finally:
            release_lock("s")


    q = Queue("emails", connection=get_redis(), default_timeout=30)
    q.enqueue(send_email)
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def test_report_uses_the_fixed_files_line_numbers(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "scheduler.py").write_text(LINES)
    assert main(["scheduler.py"]) == 1
    out = capsys.readouterr().out
    fixed = (project / "scheduler.py").read_text().splitlines()
    queue_line = next(n for n, line in enumerate(fixed, 1) if line.startswith("q = Queue("))
    enqueue_line = next(n for n, line in enumerate(fixed, 1) if line.startswith("q.enqueue("))
    assert queue_line == 10 and LINES.splitlines()[12].startswith("q = Queue(")  # moved up
    assert f"scheduler.py:{queue_line}: RQJ002 manual fix: Queue(..., default_timeout=" in out
    assert (
        f"scheduler.py:{enqueue_line}: RQJ003 manual fix: the queue built on line {queue_line} "
        "is left as it is (RQJ002)"
    ) in out


def test_check_mode_reports_the_files_own_line_numbers(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "scheduler.py").write_text(LINES)
    assert main(["--check", "scheduler.py"]) == 1
    out = capsys.readouterr().out
    assert "scheduler.py:14: RQJ003 manual fix: the queue built on line 13 is left" in out


def test_check_mode_says_which_line_numbers_it_gives(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "scheduler.py").write_text(LINES)
    assert main(["--diff", "scheduler.py"]) == 1
    err = capsys.readouterr().err
    assert (
        "scheduler.py:14: RQJ003 manual fix: the queue built on line 13 is left as it is "
        "(RQJ002) (line numbers before the fix; line 11 after it)"
    ) in err


def test_lines_are_exact_after_several_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """recordings.py needs three passes (client, queue, enqueue_call); its RQJ300 site is
    inside the rewritten region: line 18 before the fix, 13 (the line of enqueue() after it."""
    example = Path(__file__).resolve().parents[2] / "examples" / "prosaas"
    shutil.copytree(example / "legacy", tmp_path / "legacy")
    shutil.copy2(example / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    target = "legacy/prosaas/services/recordings.py"
    args = ["--wrapper-default-url", "redis://redis:6379/0", target]
    assert main(["--diff", *args]) == 1
    err = capsys.readouterr().err
    assert f"{target}:18: RQJ300 manual fix: event job enqueued without a dedupe key" in err
    assert "(line numbers before the fix; line 13 after it)" in err
    assert main(args) == 1
    out = capsys.readouterr().out
    assert f"{target}:13: RQJ300 manual fix:" in out
    assert (tmp_path / target).read_text().splitlines()[12].strip() == "return enqueue("
