"""Project-wide facts (issue 10, item 1): a multi-module project where what another module
says decides each finding, linted by flake8 and by ``check`` with identical output. Every fact
has a flip: the same project with that one fact changed, where its finding goes away (and
``check``'s cache sees it, although the file with the finding did not change)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from flake8_rqjobs.facts import build, module_facts

from .helpers import Finding, check, flake8

PROJECT = Path(__file__).resolve().parent / "facts_project"
BILLING = "./shop/billing.py"
EXPECTED = [
    Finding(BILLING, 10, 5, "RQJ003"),  # default_queue: a raw rq.Queue of shop/rq_queues.py
    Finding(BILLING, 14, 5, "RQJ300"),  # enqueue_job = enqueue; apply_refund is @event_job
    Finding(BILLING, 21, 11, "RQJ002"),  # shop.queues.Queue subclasses rq.Queue
]
# fact -> (file, text, replacement, the finding that goes away)
FLIPS: Dict[str, Tuple[str, str, str, Finding]] = {
    "exported raw queue": (
        "shop/rq_queues.py",
        'default_queue = Queue("default", connection=redis_conn)',
        'default_queue = "default"',
        EXPECTED[0],
    ),
    "event-job decoration": ("shop/jobs.py", "@event_job\n", "", EXPECTED[1]),
    "wrapper alias": (
        "shop/services/jobs.py",
        "enqueue_job = enqueue",
        "def enqueue_job(queue, func, *args):\n    return (queue, func, args)",
        EXPECTED[1],
    ),
    "re-exported Queue subclass": (
        "shop/queues.py",
        "class Queue(RQQueue):",
        "class Queue:",
        EXPECTED[2],
    ),
}


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    return root


def _both(root: Path) -> List[Finding]:
    via_flake8 = flake8(root, ".")
    via_check = check(root, "--no-cache", ".")
    assert "Traceback" not in via_flake8.stderr + via_check.stderr
    assert via_check.stdout == via_flake8.stdout
    return via_check.findings


def test_facts_decide_the_findings(tmp_path: Path) -> None:
    assert _both(_copy(tmp_path)) == EXPECTED


@pytest.mark.parametrize("fact", sorted(FLIPS))
def test_each_fact_flips_its_finding(fact: str, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    name, old, new, gone = FLIPS[fact]
    text = (root / name).read_text(encoding="utf-8")
    assert old in text
    (root / name).write_text(text.replace(old, new), encoding="utf-8")
    assert _both(root) == [f for f in EXPECTED if f != gone]


def test_check_cache_follows_the_facts(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    assert check(root, ".").findings == EXPECTED
    assert check(root, ".").findings == EXPECTED  # from the cache
    name, old, new, gone = FLIPS["event-job decoration"]
    path = root / name
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert check(root, ".").findings == [f for f in EXPECTED if f != gone]
    assert list((root / ".rqjobs_cache").glob("facts-*.json"))  # kept next to the results


def test_facts_of_a_module() -> None:
    import ast

    source = (PROJECT / "shop/rq_queues.py").read_text(encoding="utf-8")
    facts = module_facts(ast.parse(source), "shop/rq_queues.py")
    assert facts.built["default_queue"] == ("rq.Queue", "default")
    assert facts.built["redis_conn"] == ("redis.Redis.from_url", "redis://localhost:6379/0")
    project = build(str(PROJECT), use_disk=False)
    assert project.follow("shop.services.jobs.enqueue_job") == "rqjobs.enqueue"
    assert project.subclass_of("shop.queues.Queue", {"rq.Queue"}) == "rq.Queue"
    assert project.is_event_job("shop.jobs.apply_refund")
    assert not project.is_event_job("shop.jobs.rebuild_search_index")
    assert project.mentioned("from shop.jobs import apply_refund")
    assert not project.mentioned("import os\n")


def test_facts_skip_files_without_fact_words(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("import os\nQueue = os.getenv('Q')\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("import rq\ndef (:\n", encoding="utf-8")
    assert build(str(tmp_path), use_disk=False).modules == {}


def test_a_fact_is_reached_only_through_an_import_of_its_module(tmp_path: Path) -> None:
    """The prefilter's question (does this file use a fact?) follows imports: the module's
    own dotted name, relative imports resolved, ``from pkg import module``; a module that
    only shares the fact module's last name (stdlib ``queue`` beside ``app/queue.py``) and
    a file outside the project root do not count."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "app" / "queue.py").write_text(
        "from rq import Queue\nq = Queue('default')\n", encoding="utf-8"
    )
    project = build(str(tmp_path), use_disk=False)
    assert project.mentioned("from app.queue import q\n", "web/views.py")
    assert project.mentioned("from .queue import q\n", "app/views.py")
    assert project.mentioned("from . import queue\nqueue.q.enqueue(f)\n", "app/views.py")
    assert project.mentioned("from app import queue\nqueue.q\n", "web/views.py")
    assert not project.mentioned("from queue import q\n", "web/views.py")
    assert not project.mentioned("from app.queue import Other\n", "web/views.py")
    from flake8_rqjobs.checker import uses_project_facts
    from flake8_rqjobs.config import Config

    config = Config(root=tmp_path)
    text = "from app.queue import q\n"
    assert uses_project_facts(text, config, str(tmp_path / "web" / "views.py"))
    assert not uses_project_facts(text, config, str(tmp_path.parent / "elsewhere.py"))


def test_facts_are_kept_in_checks_cache_folder(tmp_path: Path) -> None:
    """``--cache-dir`` holds the facts too: a warm run reads no unchanged file again, and a
    changed fact still flips the finding."""
    root = _copy(tmp_path)
    folder = tmp_path / "elsewhere-cache"
    assert check(root, "--cache-dir", str(folder), ".").findings == EXPECTED
    assert list(folder.glob("facts-*.json"))
    assert not (root / ".rqjobs_cache").exists()
    name, old, new, gone = FLIPS["exported raw queue"]
    path = root / name
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    found = check(root, "--cache-dir", str(folder), ".").findings
    assert found == [f for f in EXPECTED if f != gone]
