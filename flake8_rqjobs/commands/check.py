"""``flake8-rqjobs check PATH...``: the RQJ rules without flake8.

Same rule code, same configuration (``[tool.rqjobs]`` in pyproject.toml, then ``rqjobs-*`` keys
of the ``[flake8]`` section flake8 would read, then ``--rqjobs-*`` options), same ``# noqa``,
``ignore``/``extend-ignore``/``per-file-ignores`` semantics and output format as
``flake8 --select RQJ`` (all of it in :mod:`flake8_rqjobs.flake8_compat`). Files without any
trigger word are skipped before parsing. Exit status: 0 clean, 1 something reported, 2 bad
usage or configuration. Files that cannot be read or parsed are reported on stderr and do not
count as findings (flake8 reports them as E902/E999, which ``--select RQJ`` hides).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import warnings
from typing import List, Optional, Sequence, Tuple

from flake8_rqjobs.checker import check_tree, needs_check
from flake8_rqjobs.config import OPTIONS, Config, ConfigError
from flake8_rqjobs.flake8_compat import (
    NOQA_FILE,
    build_config,
    discover,
    drop_noqa,
    exclude_patterns,
    find_flake8_config,
    read_lines,
)
from flake8_rqjobs.rules.base import Site


# --- checking ---------------------------------------------------------------------------
def check_file(path: str, config: Config) -> Tuple[List[Site], Optional[str]]:
    """(violations left after noqa, error text or None) for one file."""
    try:
        lines = read_lines(path)
    except OSError as exc:
        return [], f"{path}: cannot read: {exc}"
    if not needs_check("".join(lines), path, config):
        return [], None
    if any(NOQA_FILE.match(line) for line in lines):
        return [], None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning etc. are not our findings
            tree = ast.parse("".join(lines), filename=path)
    except (SyntaxError, ValueError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        where = f":{exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return [], f"{path}{where}: cannot parse: {detail}"
    try:
        violations = check_tree(tree, path, config, lines)
    except RecursionError:
        return [], f"{path}: skipped: nested too deeply to check"
    return drop_noqa(violations, lines), None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flake8-rqjobs check",
        description="Check Python files for the RQJ rules, without flake8.",
    )
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when something is reported"
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="ignore flake8 config files (as flake8 --isolated); pyproject.toml is still read",
    )
    parser.add_argument("--exclude", default=None, metavar="PATTERNS", help="as flake8's --exclude")
    parser.add_argument(
        "--extend-exclude", default=None, metavar="PATTERNS", help="as flake8's --extend-exclude"
    )
    for key in OPTIONS:
        parser.add_argument(f"--rqjobs-{key}", dest=key, default=None, metavar="VALUE")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    cli = {key: getattr(args, key) for key in OPTIONS}
    try:
        config, ignores = build_config(cli, isolated=args.isolated)
    except ConfigError as exc:
        print(f"flake8-rqjobs: {str(exc).replace('rqjobs: ', '', 1)}", file=sys.stderr)
        return 2
    flake8_file = None if args.isolated else find_flake8_config(os.getcwd())
    exclude = exclude_patterns(flake8_file, args.exclude, args.extend_exclude)
    reported = 0
    out = sys.stdout
    for path in discover(args.paths, exclude):
        violations, error = check_file(path, config)
        if error is not None:
            print(error, file=sys.stderr)
        violations = [v for v in violations if not ignores.hides(path, v.code)]
        for violation in violations:
            out.write(f"{path}:{violation.line}:{violation.col + 1}: {violation.message}\n")
        reported += len(violations)
    return 1 if reported and not args.exit_zero else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
