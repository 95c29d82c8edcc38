"""The ``flake8-rqjobs`` command: ``check``, ``rules``, ``explain`` and ``fix``.

Each subcommand lives in its own module with a ``main(argv) -> int``; this module
only dispatches, so that ``flake8-rqjobs check`` never imports libcst.
"""

from __future__ import annotations

import importlib
import os
import sys

TYPE_CHECKING = False  # not typing's: a warm ``check`` imports as little as it can
if TYPE_CHECKING:
    from typing import Optional, Sequence

SUBCOMMANDS = {
    "check": ("flake8_rqjobs.commands.check", "lint files fast, without flake8"),
    "rules": ("flake8_rqjobs.commands.docs", "list the RQJ rules"),
    "explain": ("flake8_rqjobs.commands.docs", "print one rule's documentation"),
    "fix": ("flake8_rqjobs.commands.fix", "rewrite violations with codemods"),
}


def _usage() -> str:
    lines = ["usage: flake8-rqjobs {check,rules,explain,fix} ...", "", "subcommands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    if args[0] == "--version":
        from flake8_rqjobs import __version__

        print(__version__)
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"flake8-rqjobs: unknown subcommand {name!r}\n{_usage()}", file=sys.stderr)
        return 2
    try:
        if name == "check":
            from flake8_rqjobs import runindex

            code = runindex.replay(rest)  # an unchanged tree: the last run's output
            if code is not None:
                return code
            module = importlib.import_module(SUBCOMMANDS[name][0])
            return int(module.main(rest, replay=False))
        module = importlib.import_module(SUBCOMMANDS[name][0])
        if name in ("rules", "explain"):
            return int(module.main([name, *rest]))
        return int(module.main(rest))
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as grep does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
