"""Regenerate the mechanical part of ``app/`` from ``legacy/`` with the project's own tools.

What it does, in a fresh directory (``--out DIR``, default a new temporary directory):

1. copies ``pyproject.toml`` (its ``[tool.rqjobs]`` table) and ``legacy/`` as ``app/``;
2. runs ``flake8-rqjobs fix app --deprecate-definitions`` there and prints its summary
   (the fixes made and the manual fixes left);
3. sorts the imports the fixer added (``ruff check --select I --fix``), as a team's
   import sorter or pre-commit hook would.

``--check`` then compares the result with the committed ``app/``: every file must be
byte-identical, except the files in ``HUMAN_FILES``, which needed the manual fixes the tool
reported (or are new), and which must differ. Exit 0 when they match, 1 otherwise.
``--update`` writes the regenerated mechanical files over ``app/`` (never a human file).

Run from anywhere: ``python examples/prosaas/regenerate.py --check``.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEGACY = HERE / "legacy"
APP = HERE / "app"
BIN = Path(sys.executable).parent

FIX_ARGS = ("--deprecate-definitions",)

# Files of app/prosaas/ that are not the tool's output, and why a human had to touch them.
HUMAN_FILES: dict[str, str] = {
    "factory.py": "SERVICE_ROLE enforcement, jobs_bp at /api/jobs, 413/503 handling (no tool "
    "knows the roles); the tool removed the start_reminder_scheduler() call",
    "realtime.py": "the call-event thread guarded by requires_capability('realtime_threads')",
    "schedule.py": "new: the Schedule of periodic jobs that replaces the reminder thread",
    "routes/webhooks.py": "RQJ300: enqueue_with_dedupe with webhook:baileys:{message_id} and "
    "twilio:{call_sid}:{event_type}; X-Internal-Secret with hmac.compare_digest; 400/401",
    "routes/leads.py": "RQJ002/RQJ003 manual: Queue(..., connection=redis_client) -> "
    "get_queue('leads') (the tool cannot prove redis_client is the wrapper's client)",
    "routes/notifications.py": "400 with a clear message for a malformed request",
    "services/jobs.py": "the wrapper itself (never touched by the tool): re-exports rqjobs",
    "services/notifications.py": "RQJ300: enqueue_with_dedupe with push:notification:{id}",
    "services/recordings.py": "RQJ001 manual (REDIS_URL default differs), RQJ300: "
    "enqueue_with_dedupe with recording:{call_sid}",
    "services/reminder_scheduler.py": "RQJ002/RQJ003 manual in the old loop: the loop is "
    "deleted, the starter kept as rqjobs.deprecated_starter",
}


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


def regenerate(out: Path) -> str:
    """Build the mechanical tree in ``out`` (``out/app/prosaas``); return the fixer's output."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "pyproject.toml", out / "pyproject.toml")
    target = out / "app"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(LEGACY, target, ignore=shutil.ignore_patterns("__pycache__"))

    fix = run([str(BIN / "flake8-rqjobs"), "fix", "app", *FIX_ARGS], out)
    if fix.returncode != 1:  # 1 = files changed, the expected outcome on legacy code
        raise SystemExit(f"flake8-rqjobs fix exited {fix.returncode}:\n{fix.stdout}{fix.stderr}")
    ruff = run(
        [
            str(BIN / "ruff"),
            "check",
            "--quiet",
            "--select",
            "I",
            "--fix",
            "--line-length",
            "100",
            "--target-version",
            "py39",
            "app",
        ],
        out,
    )
    if ruff.returncode != 0:
        raise SystemExit(f"ruff (import sorting) failed:\n{ruff.stdout}{ruff.stderr}")
    return fix.stdout + fix.stderr


def python_files(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def compare(generated: Path, committed: Path) -> list[str]:
    """Problems found comparing the regenerated tree with the committed one (empty: match)."""
    problems = []
    new, old = python_files(generated), python_files(committed)
    for name in sorted(new | old):
        human = name in HUMAN_FILES
        if name not in old:
            problems.append(f"{name}: produced by the tool but missing from app/")
        elif name not in new:
            if not human:
                problems.append(f"{name}: only in app/ and not listed in HUMAN_FILES")
        elif filecmp.cmp(generated / name, committed / name, shallow=False):
            if human:
                problems.append(f"{name}: equals the tool's output; remove it from HUMAN_FILES")
        elif not human:
            problems.append(f"{name}: differs from the tool's output (run regenerate.py --update)")
    for name in sorted(set(HUMAN_FILES) - old):
        problems.append(f"{name}: listed in HUMAN_FILES but missing from app/")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="directory for the regenerated tree")
    parser.add_argument("--check", action="store_true", help="compare with the committed app/")
    parser.add_argument("--update", action="store_true", help="write mechanical files to app/")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="prosaas-regenerated-"))
    print(regenerate(out), end="")
    generated = out / "app" / "prosaas"
    print(f"regenerated tree: {generated}")

    if args.update:
        for name in sorted(python_files(generated) - set(HUMAN_FILES)):
            destination = APP / "prosaas" / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(generated / name, destination)
        print(f"updated the mechanical files of {APP / 'prosaas'}")
    if args.check:
        problems = compare(generated, APP / "prosaas")
        for problem in problems:
            print(f"app/prosaas/{problem}")
        mechanical = len(python_files(generated) - set(HUMAN_FILES))
        print(
            f"{mechanical} files identical to the tool's output, {len(HUMAN_FILES)} human files"
            if not problems
            else f"{len(problems)} problem(s)"
        )
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
