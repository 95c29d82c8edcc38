"""The ``rqjobs`` command: worker, scheduler, health, stats, role.

Exit status: 0 success/healthy; 1 unhealthy or a runtime failure (Redis unreachable, ...);
2 a usage or configuration error (bad arguments, bad schedule, bad ``SERVICE_ROLE``, or a
role that does not allow the command). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

LOG_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s"
LOG_DATEFMT = "%Y-%m-%dT%H:%M:%S"


class CommandError(Exception):
    """A one-line error for the user, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(LOG_FORMAT, LOG_DATEFMT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _require(capability: str, what: str) -> None:
    from .errors import ConfigurationError
    from .roles import CAPABILITIES, allows, current_role

    try:
        role = current_role()
    except ConfigurationError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if not allows(capability, role):
        roles = ", ".join(name for name, caps in CAPABILITIES.items() if capability in caps)
        raise CommandError(
            f"SERVICE_ROLE={role!r} does not allow {what}; "
            f"run it with SERVICE_ROLE one of: {roles}",
            EXIT_USAGE,
        )


# -- worker ---------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    _require("worker", "an RQ worker")
    _setup_logging(args.logging_level)
    from .queues import get_worker

    options: dict[str, Any] = {}
    if args.name:
        options["name"] = args.name
    try:
        worker = get_worker(args.queues or None, **options)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    worker.work(burst=args.burst, logging_level=args.logging_level.upper(), max_jobs=args.max_jobs)
    return EXIT_OK


# -- scheduler ------------------------------------------------------------------------------


def cmd_scheduler(args: argparse.Namespace) -> int:
    _require("scheduler", "the periodic scheduler")
    from .schedule import ScheduleError, load_schedule
    from .scheduler import Scheduler

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        schedule = load_schedule(args.schedule)
        scheduler = Scheduler(schedule, tick=args.tick, lock_ttl=args.lock_ttl)
    except (ScheduleError, ValueError) as exc:
        raise CommandError(f"bad schedule: {exc}", EXIT_USAGE) from None
    _setup_logging(args.logging_level)
    return scheduler.run()


# -- health ---------------------------------------------------------------------------------


def cmd_health(args: argparse.Namespace) -> int:
    from .health import health_report

    status, body = health_report(args.queues or None, require_scheduler=not args.no_scheduler)
    if args.json:
        print(json.dumps(body, indent=2, sort_keys=True))
    else:
        print(_health_text(status, body))
    return EXIT_OK if status == 200 else EXIT_FAILURE


def _health_text(status: int, body: dict[str, Any]) -> str:
    lines = [f"status: {body['status']}"]
    if body.get("error"):
        lines.append(f"error: {body['error']}")
    scheduler = body.get("scheduler")
    if scheduler:
        since = scheduler.get("seconds_since_last_tick")
        lines.append(
            "scheduler: last tick {} ({}), lock held: {}, holder: {}".format(
                scheduler.get("last_tick") or "never",
                f"{since:.1f}s ago" if since is not None else "-",
                "yes" if scheduler.get("lock_held") else "no",
                scheduler.get("holder") or "-",
            )
        )
    if body.get("queues") is not None:
        lines.append(_stats_table(body["queues"]))
    return "\n".join(lines)


# -- stats ----------------------------------------------------------------------------------

_COLUMNS = ("queued", "started", "finished", "failed", "deferred", "scheduled", "canceled")


def _stats_table(stats: dict[str, dict[str, int]]) -> str:
    header = ("queue",) + _COLUMNS
    rows: list[tuple[str, ...]] = [header]
    for queue in sorted(stats):
        rows.append((queue,) + tuple(str(stats[queue].get(col, 0)) for col in _COLUMNS))
    if len(rows) == 1:
        rows.append(("(no queues)",) + ("",) * len(_COLUMNS))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def cmd_stats(args: argparse.Namespace) -> int:
    from rqjobs import get_queue_stats

    while True:
        stats = get_queue_stats(args.queues or None)
        if args.json:
            print(json.dumps(stats, sort_keys=True), flush=True)
        else:
            if args.watch and sys.stdout.isatty():
                sys.stdout.write("\x1b[H\x1b[2J")
            print(_stats_table(stats), flush=True)
        if not args.watch:
            return EXIT_OK
        time.sleep(args.interval)
        if not args.json and not sys.stdout.isatty():
            print(flush=True)


# -- role -----------------------------------------------------------------------------------


def cmd_role(args: argparse.Namespace) -> int:
    from .errors import ConfigurationError
    from .roles import CAPABILITIES, CAPABILITY_NAMES, current_role

    try:
        role = current_role()
    except ConfigurationError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    allowed = [name for name in CAPABILITY_NAMES if name in CAPABILITIES[role]]
    if args.json:
        print(json.dumps({"role": role, "capabilities": allowed}))
    else:
        print(role)
        print("allowed: " + (", ".join(allowed) or "(nothing)"))
        denied = [name for name in CAPABILITY_NAMES if name not in CAPABILITIES[role]]
        print("refused: " + (", ".join(denied) or "(nothing)"))
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise CommandError(f"{self.prog}: {message} (see --help)", EXIT_USAGE)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rqjobs",
        description="Run and inspect RQ jobs through the rqjobs wrapper (REDIS_URL, SERVICE_ROLE).",
        epilog="Exit status: 0 ok, 1 unhealthy or failure, 2 usage/config error or refused role.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    worker = sub.add_parser(
        "worker",
        help="run an RQ worker on the shared connection",
        description="Run an RQ worker on the shared connection with the configured serializer. "
        "Refused unless SERVICE_ROLE allows a worker (worker or all).",
    )
    worker.add_argument(
        "queues", nargs="*", metavar="QUEUE", help="queues to work (default: default)"
    )
    worker.add_argument("--burst", action="store_true", help="quit once the queues are empty")
    worker.add_argument("--name", help="worker name")
    worker.add_argument("--max-jobs", type=int, default=None, help="quit after this many jobs")
    worker.add_argument("--logging-level", default="info", help="log level (default: info)")
    worker.set_defaults(handler=cmd_worker)

    scheduler = sub.add_parser(
        "scheduler",
        help="run the periodic scheduler",
        description="Run the periodic scheduler: one cycle per tick, one winner per cycle "
        "(lock rqjobs:scheduler:lock:{cycle}). Run several for failover. SIGTERM finishes "
        "the current cycle and exits 0. Refused unless SERVICE_ROLE allows the scheduler.",
    )
    scheduler.add_argument(
        "--schedule", required=True, metavar="MODULE:ATTRIBUTE", help="the Schedule to run"
    )
    scheduler.add_argument("--tick", type=_positive, default=15.0, help="seconds per cycle (15)")
    scheduler.add_argument(
        "--lock-ttl", type=int, default=90, help="cycle lock TTL in seconds (90)"
    )
    scheduler.add_argument("--logging-level", default="info", help="log level (default: info)")
    scheduler.set_defaults(handler=cmd_scheduler)

    health = sub.add_parser(
        "health",
        help="check Redis, queues and the scheduler (exit 0 healthy, 1 unhealthy)",
        description="Check Redis, queue counts and scheduler liveness; usable as a container "
        "health check: exit 0 healthy, 1 unhealthy.",
    )
    health.add_argument(
        "queues", nargs="*", metavar="QUEUE", help="queues to report (default: all)"
    )
    health.add_argument("--json", action="store_true", help="print the health body as JSON")
    health.add_argument(
        "--no-scheduler", action="store_true", help="do not require a live scheduler"
    )
    health.set_defaults(handler=cmd_health)

    stats = sub.add_parser(
        "stats",
        help="show queue counts",
        description="Show queued/started/finished/failed/deferred/scheduled/canceled per queue.",
    )
    stats.add_argument("queues", nargs="*", metavar="QUEUE", help="queues (default: all)")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.add_argument("--watch", action="store_true", help="refresh until interrupted")
    stats.add_argument("--interval", type=_positive, default=2.0, help="seconds between refreshes")
    stats.set_defaults(handler=cmd_stats)

    role = sub.add_parser(
        "role",
        help="show SERVICE_ROLE and what it allows",
        description="Show SERVICE_ROLE and the capabilities it allows and refuses.",
    )
    role.add_argument("--json", action="store_true", help="print JSON")
    role.set_defaults(handler=cmd_role)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``rqjobs`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except CommandError as exc:
        print(f"rqjobs: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        from .health import safe_error

        print(f"rqjobs: error: {safe_error(exc)}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
