"""The wrapper import that ``fix`` adds lands where isort (ruff ``I001``) wants it.

The examples import the project's own code from ``app`` (first party); the wrapper is
first party when it is the team's module and third party when it is ``rqjobs``. Every AFTER
example whose BEFORE passes ``ruff check --select I`` must pass it too. When the placement is
not certain (imports not sorted to begin with), the line goes after the leading imports, as
before; existing lines are never moved or reformatted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import libcst as cst
import pytest

from flake8_rqjobs.fixers.imports import add_wrapper_imports

from .helpers import after_file, before_files, example_id, options_for

RUFF = Path(sys.executable).parent / "ruff"
CHANGED = [b for b in before_files() if after_file(b).exists()]


def ruff_sorted(path: Path, wrapper: str) -> bool:
    first_party: List[str] = ["app"]
    if wrapper.split(".")[0] != "rqjobs":
        first_party.append(wrapper.split(".")[0])
    result = subprocess.run(
        [
            str(RUFF),
            "check",
            "--isolated",
            "--quiet",
            "--select",
            "I",
            "--line-length",
            "100",
            "--target-version",
            "py39",
            "--config",
            f"lint.isort.known-first-party = {first_party!r}",
            "--config",
            "lint.isort.known-third-party = ['rqjobs']",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def _wrapper(before: Path) -> str:
    _, overrides = options_for(before.read_text())
    return overrides.get("wrapper_module", "rqjobs")


@pytest.mark.parametrize("before", CHANGED, ids=[example_id(b) for b in CHANGED])
def test_after_is_isort_clean_when_before_was(before: Path) -> None:
    wrapper = _wrapper(before)
    if ruff_sorted(before, wrapper):
        assert ruff_sorted(after_file(before), wrapper)


def test_most_examples_start_isort_clean() -> None:
    # keeps the test above from passing vacuously
    clean = [b for b in CHANGED if ruff_sorted(b, _wrapper(b))]
    assert len(clean) >= 10


def _add(source: str, wrapper: str = "rqjobs", **names: str) -> str:
    module = cst.parse_module(source)
    wanted = names or {"enqueue": "enqueue"}
    return add_wrapper_imports(module, wrapper, wanted, original=module).code


def test_rqjobs_joins_the_third_party_section() -> None:
    source = "import os\n\nimport redis\nfrom rq import Retry\n\nfrom app import tasks\n\nX = 1\n"
    assert _add(source) == (
        "import os\n\nimport redis\nfrom rq import Retry\nfrom rqjobs import enqueue\n\n"
        "from app import tasks\n\nX = 1\n"
    )


def test_team_wrapper_joins_its_own_package() -> None:
    source = "import os\n\nimport flask\n\nfrom app.models import Lead\nfrom app.tasks import f\n"
    assert _add(source, "app.services.jobs") == (
        "import os\n\nimport flask\n\nfrom app.models import Lead\n"
        "from app.services.jobs import enqueue\nfrom app.tasks import f\n"
    )


def test_new_section_after_the_standard_library_and_before_local_imports() -> None:
    source = '"""Doc."""\n\nimport os\n\nfrom . import models\n\n\ndef f():\n    pass\n'
    assert _add(source) == (
        '"""Doc."""\n\nimport os\n\nfrom rqjobs import enqueue\n\nfrom . import models\n\n\n'
        "def f():\n    pass\n"
    )


def test_first_line_of_the_block_and_blank_lines_before_a_def() -> None:
    assert _add("from . import models\n\ndef f():\n    pass\n") == (
        "from rqjobs import enqueue\n\nfrom . import models\n\ndef f():\n    pass\n"
    )
    assert _add("def f():\n    pass\n") == "from rqjobs import enqueue\n\n\ndef f():\n    pass\n"


def test_merges_into_an_existing_line_in_order() -> None:
    source = "from rqjobs import enqueue_with_dedupe, get_redis\n"
    assert _add(source, enqueue="enqueue", get_queue="get_queue") == (
        "from rqjobs import enqueue, enqueue_with_dedupe, get_queue, get_redis\n"
    )
    wrapped = "from rqjobs import (\n    get_queue,\n    get_redis,\n)\n"
    assert _add(wrapped) == (
        "from rqjobs import (\n    enqueue,\n    get_queue,\n    get_redis,\n)\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "import sys\nimport os\n\nX = 1\n",  # not sorted
        "import os\n\nfrom app import tasks\n\nX = 1\n",  # is app first or third party?
        "import os\n# a comment\nimport sys\n\nX = 1\n",  # comments inside the block
        "import os, sys\n\nX = 1\n",  # two modules on one line
    ],
)
def test_unsure_keeps_the_line_after_the_leading_imports(source: str) -> None:
    fixed = _add(source)
    head, tail = source.split("\n\nX = 1\n")
    assert fixed == head + "\nfrom rqjobs import enqueue\n\nX = 1\n"


def test_comment_above_the_block() -> None:
    source = '"""Doc."""\n# stdlib first\nimport os\n\nX = 1\n'
    assert _add(source) == (
        '"""Doc."""\n# stdlib first\nimport os\n\nfrom rqjobs import enqueue\n\nX = 1\n'
    )
    # going first would put the comment above the new line: unsure, so after the block
    source = '"""Doc."""\n# models first\nfrom . import models\n\nX = 1\n'
    assert _add(source) == (
        '"""Doc."""\n# models first\nfrom . import models\nfrom rqjobs import enqueue\n\nX = 1\n'
    )
