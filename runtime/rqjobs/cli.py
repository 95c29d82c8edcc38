"""The ``rqjobs`` command: worker, scheduler, health, stats, info, role, dedupe.

Exit status: 0 success/healthy; 1 unhealthy or a runtime failure (Redis unreachable, Redis
refused a command, ...); 2 a usage or configuration error (bad arguments, bad schedule, a
malformed ``REDIS_URL``, a bad ``RQJOBS_*`` setting, a bad ``SERVICE_ROLE``, a role that does
not allow the command, a bad dedupe key). Every command validates the configuration first
(:func:`check_configuration`), before it touches Redis. A failure is exactly one line on
stderr starting ``rqjobs: error:``, never a traceback, never a password.
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

__all__ = ["main", "build_parser", "check_configuration"]

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


# Settings validated before any command runs (each raises ConfigurationError when bad). Read
# by name so that a setting added later is checked once it is listed here.
_SETTINGS_CHECKED = (
    "serializer_name",
    "socket_timeout",
    "socket_connect_timeout",
    "retries",
    "call_deadline",
    "heartbeat_interval",
    "orphan_grace",
    "health_details",
    "health_max_queues",
    "scheduled_overdue",
)


def check_configuration() -> None:
    """Validate ``SERVICE_ROLE``, the ``RQJOBS_*`` settings and ``REDIS_URL``; connect to nothing.

    Raises :class:`CommandError` with exit status 2 and the setting's one-line message. The
    URL is checked by building the shared client (:func:`rqjobs.get_redis`), which parses it
    exactly as redis-py will, without opening a connection.
    """
    from . import settings
    from .connection import get_redis
    from .errors import ConfigurationError
    from .roles import current_role

    try:
        current_role()
        for name in _SETTINGS_CHECKED:
            getter = getattr(settings, name, None)
            if callable(getter):
                getter()
        get_redis()
    except ConfigurationError as exc:
        raise CommandError(_message(exc), EXIT_USAGE) from None


_config_queues: list[str] = []  # QUEUES of the -c settings module, the worker's default


def apply_config_module(name: str) -> None:
    """``-c MODULE``: set ``REDIS_URL`` from an rq settings module (``REDIS_URL``, or rq's
    ``SENTINEL`` dict turned into a ``redis+sentinel://`` URL); exit 2 with one line on error.
    """
    import importlib

    from .errors import ConfigurationError
    from .sentinel import sentinel_url_from_config

    _add_cwd_to_path()
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any import error is a usage error
        raise CommandError(
            f"-c {name}: cannot import the settings module ({type(exc).__name__}: {exc})",
            EXIT_USAGE,
        ) from None
    global _config_queues
    queues = getattr(module, "QUEUES", None)
    if queues:
        _config_queues = [str(name) for name in queues]
    for attribute in dir(module):
        if attribute.startswith("RQJOBS_") and attribute not in os.environ:
            os.environ[attribute] = str(getattr(module, attribute))
    url = getattr(module, "REDIS_URL", None)
    sentinel = getattr(module, "SENTINEL", None)
    try:
        if url:
            os.environ["REDIS_URL"] = str(url)
        elif sentinel is not None:
            os.environ["REDIS_URL"] = sentinel_url_from_config(sentinel)
        else:
            raise ConfigurationError(f"-c {name}: the module sets neither REDIS_URL nor SENTINEL")
    except ConfigurationError as exc:
        raise CommandError(_message(exc), EXIT_USAGE) from None


def _redact(text: str) -> str:
    """``text`` on one line, with ``REDIS_URL`` redacted and none of its secrets in it."""
    from .connection import redact_url, url_secrets
    from .settings import redis_url

    url = redis_url()
    text = " ".join(str(text).split())
    text = text.replace(url, redact_url(url))
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text


def _message(exc: BaseException, *, with_type: bool = False) -> str:
    """``exc`` as one redacted line; ``with_type`` puts the exception's class name first."""
    text = str(exc)
    if with_type or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return _redact(text)


def _require_redis(connection: Any) -> None:
    """PING ``connection`` once (with the client's retries); exit 1 with one line if it fails."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from .connection import current_url_redacted

    try:
        connection.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here ends the command with status 1
        from .errors import ConfigurationError, RqjobsError

        if isinstance(exc, ConfigurationError):
            raise CommandError(_message(exc), EXIT_USAGE) from None
        if isinstance(exc, RqjobsError):  # RedisUnavailable: its message names the URL
            raise CommandError(_message(exc), EXIT_FAILURE) from None
        reached = not isinstance(exc, (OSError, RedisConnectionError, RedisTimeoutError))
        what = "refused PING" if reached else "is unreachable"
        raise CommandError(
            f"Redis at {current_url_redacted()} {what} ({_message(exc, with_type=True)})",
            EXIT_FAILURE,
        ) from None


def log_startup_warnings(connection: Any, logger: logging.Logger) -> None:
    """Log what is wrong with the Redis server for a job system (e.g. ``maxmemory-policy``).

    Best effort (:func:`rqjobs.server_checks.log_server_warnings`): a failure to read the
    server's settings is logged and never stops start-up.
    """
    from .server_checks import log_server_warnings

    try:
        log_server_warnings(connection, logger)
    except Exception as exc:  # noqa: BLE001 - a warning must not stop a worker
        logger.debug("Could not check the Redis server settings: %s", _message(exc))


def _add_cwd_to_path() -> None:
    """Job and schedule modules import from the working directory, as with ``rq worker``."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


# -- worker ---------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    _require("worker", "an RQ worker")
    from .connection import get_redis
    from .queues import get_worker

    _add_cwd_to_path()
    options = _worker_options(args)
    _require_redis(get_redis())
    try:
        worker = get_worker(args.queues or _config_queues or None, **options)
    except ValueError as exc:
        raise CommandError(_message(exc), EXIT_USAGE) from None
    _setup_logging(args.logging_level)
    log_startup_warnings(worker.connection, logging.getLogger("rqjobs.worker"))
    work_options: dict[str, Any] = {
        "burst": args.burst,
        "logging_level": args.logging_level.upper(),
        "max_jobs": args.max_jobs,
    }
    if args.max_idle_time is not None:
        work_options["max_idle_time"] = args.max_idle_time
    if _accepts(worker.work, "with_scheduler"):
        # RQ's own scheduler: moves due jobs of rq:scheduled:<queue> (Retry intervals,
        # enqueue_in/enqueue_at) to their queues. One worker per queue wins its lock; with
        # --burst RQ enqueues the jobs already due once, at start, and does not wait for more.
        work_options["with_scheduler"] = args.with_scheduler
    elif args.with_scheduler:  # pragma: no cover - every supported RQ has it
        logging.getLogger("rqjobs.worker").warning(
            "This RQ's Worker.work() has no with_scheduler: scheduled jobs are not moved"
        )
    worker.work(**work_options)
    return EXIT_OK


def _worker_flags(worker: argparse.ArgumentParser) -> None:
    """``rq worker``'s flags, spelled as rq spells them."""
    worker.add_argument(
        "-c",
        "--config",
        metavar="MODULE",
        default=argparse.SUPPRESS,
        help="an rq settings module: REDIS_URL (or SENTINEL), QUEUES, and any RQJOBS_* names",
    )
    worker.add_argument("-u", "--url", help="the Redis URL (overrides REDIS_URL and -c)")
    worker.add_argument(
        "--django",
        metavar="SETTINGS",
        help="set Django up with this settings module before any job runs (ORM jobs work); "
        "without REDIS_URL the connection comes from django-rq's RQ_QUEUES",
    )
    worker.add_argument(
        "-P",
        "--path",
        action="append",
        default=[],
        help="a folder to import jobs from (repeatable; the current folder is always on the path)",
    )
    worker.add_argument(
        "-S",
        "--serializer",
        help="pickle, json, or the dotted path of a serializer (default: RQJOBS_SERIALIZER)",
    )
    worker.add_argument(
        "-w",
        "--worker-class",
        help="the dotted path of an rq.Worker subclass (default: rqjobs.worker.RqjobsWorker)",
    )
    worker.add_argument("-j", "--job-class", help="the dotted path of an rq.job.Job subclass")
    worker.add_argument("--queue-class", help="the dotted path of an rq.Queue subclass")
    worker.add_argument(
        "--max-idle-time", type=int, default=None, help="quit after this many idle seconds"
    )
    worker.add_argument(
        "--logging-level",
        "--logging_level",  # rq's spelling
        "-l",
        dest="logging_level",
        default="info",
        help="log level (default: info)",
    )
    worker.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    worker.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def _import_class(path: str, base: type, flag: str) -> Any:
    """The class at dotted ``path``; exit 2 with one line when it is not a ``base``."""
    from rq.utils import import_attribute

    try:
        found = import_attribute(path)
    except Exception as exc:  # noqa: BLE001 - any failure to import is a usage error
        raise CommandError(f"{flag} {path}: cannot import it ({exc})", EXIT_USAGE) from None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise CommandError(f"{flag} {path}: not a subclass of {base.__qualname__}", EXIT_USAGE)
    return found


def _worker_options(args: argparse.Namespace) -> dict[str, Any]:
    """``get_worker`` keywords from the flags (classes imported and checked)."""
    from rq import Queue
    from rq.job import Job

    try:  # rq 2.x/3.x: Worker and SimpleWorker share BaseWorker
        from rq.worker import BaseWorker as Worker
    except ImportError:  # pragma: no cover - older rq
        from rq import Worker  # type: ignore[assignment]

    options: dict[str, Any] = {}
    if args.name:
        options["name"] = args.name
    if args.worker_class:
        options["worker_class"] = _import_class(args.worker_class, Worker, "--worker-class")
    if args.job_class:
        options["job_class"] = _import_class(args.job_class, Job, "--job-class")
    if args.queue_class:
        options["queue_class"] = _import_class(args.queue_class, Queue, "--queue-class")
    if args.serializer and args.serializer.lower() not in ("pickle", "json"):
        from rq.serializers import resolve_serializer

        try:
            options["serializer"] = resolve_serializer(args.serializer)
        except Exception as exc:  # noqa: BLE001 - a bad path is a usage error
            raise CommandError(f"--serializer {args.serializer}: {exc}", EXIT_USAGE) from None
    return options


def apply_worker_environment(args: argparse.Namespace) -> None:
    """What ``--path``, ``--serializer pickle|json`` and ``-q``/``-v`` change before the
    configuration is read (``sys.path``, ``RQJOBS_SERIALIZER``, the log level)."""
    for folder in reversed(getattr(args, "path", None) or []):
        path = os.path.abspath(folder)
        if path not in sys.path:
            sys.path.insert(0, path)
    if getattr(args, "django", None):
        _setup_django(args.django)
    serializer = getattr(args, "serializer", None)
    if serializer and serializer.lower() in ("pickle", "json"):
        os.environ["RQJOBS_SERIALIZER"] = serializer.lower()
    if getattr(args, "quiet", False):
        args.logging_level = "warning"
    if getattr(args, "verbose", False):
        args.logging_level = "debug"


def _setup_django(settings_module: str) -> None:
    """``DJANGO_SETTINGS_MODULE`` and ``django.setup()`` in the worker, before it forks."""
    _add_cwd_to_path()
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    try:
        import django

        django.setup()
    except Exception as exc:  # noqa: BLE001 - a bad settings module is a usage error
        raise CommandError(
            f"--django {settings_module}: cannot set Django up ({type(exc).__name__}: {exc})",
            EXIT_USAGE,
        ) from None


def _accepts(func: Any, name: str) -> bool:
    import inspect

    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - a C function or the like
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


# -- scheduler ------------------------------------------------------------------------------


def cmd_scheduler(args: argparse.Namespace) -> int:
    _require("scheduler", "the periodic scheduler")
    from .schedule import ScheduleError, load_schedule
    from .scheduler import Scheduler

    _add_cwd_to_path()
    try:
        schedule = load_schedule(args.schedule)
        scheduler = Scheduler(schedule, tick=args.tick, lock_ttl=args.lock_ttl)
    except (ScheduleError, ValueError) as exc:
        raise CommandError(f"bad schedule: {_message(exc)}", EXIT_USAGE) from None
    # Unreachable at start-up is fatal (exit 1, let the supervisor restart it); an outage
    # after start-up is logged and retried at each tick.
    _require_redis(scheduler.connection)
    _setup_logging(args.logging_level)
    return scheduler.run()


# -- health ---------------------------------------------------------------------------------


def cmd_health(args: argparse.Namespace) -> int:
    from .health import health_report

    # The command runs where REDIS_URL is known: an operator's shell or the container's
    # own health check, so it shows the details the HTTP endpoint may hide.
    status, body = health_report(
        args.queues or None, require_scheduler=not args.no_scheduler, details=True
    )
    if args.json:
        print(json.dumps(body, indent=2, sort_keys=True), flush=True)
    else:
        print(_health_text(status, body), flush=True)
    if status == 200:
        return EXIT_OK
    raise CommandError(_redact(str(body.get("error") or "unhealthy")), EXIT_FAILURE)


def _health_text(status: int, body: dict[str, Any]) -> str:
    lines = [f"status: {body['status']}"]
    if body.get("error"):
        lines.append(f"error: {body['error']}")
    for warning in body.get("warnings") or ():
        lines.append(f"warning: {warning}")
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


# -- info -----------------------------------------------------------------------------------

_WORKER_COLUMNS = ("worker", "state", "queues", "current job", "last heartbeat")


def _worker_rows(queues: Sequence[str]) -> list[dict[str, Any]]:
    """Every live worker (rq's ``Worker.all``; a worker's key expires when it stops beating),
    those listening on one of ``queues`` when given, sorted by name."""
    from rq import Worker

    from .connection import get_redis
    from .queues import get_serializer

    connection = get_redis()
    workers = Worker.all(connection=connection, serializer=get_serializer())
    rows = []
    for worker in workers:
        names = list(worker.queue_names())
        if queues and not set(names) & set(queues):
            continue
        beat = getattr(worker, "last_heartbeat", None)
        rows.append(
            {
                "name": worker.name,
                "state": str(getattr(worker.get_state(), "value", worker.get_state())),
                "queues": names,
                "current_job": worker.get_current_job_id(),
                "last_heartbeat": beat.strftime("%Y-%m-%dT%H:%M:%SZ") if beat else None,
                "seconds_since_heartbeat": (
                    round(max(0.0, time.time() - _epoch(beat)), 1) if beat else None
                ),
                "hostname": getattr(worker, "hostname", None),
                "pid": getattr(worker, "pid", None),
            }
        )
    return sorted(rows, key=lambda row: row["name"])


def _epoch(moment: Any) -> float:
    """Seconds since the epoch of rq's heartbeat (a UTC datetime, naive in older rq)."""
    from datetime import timezone

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return float(moment.timestamp())


def _workers_table(rows: list[dict[str, Any]]) -> str:
    table: list[tuple[str, ...]] = [_WORKER_COLUMNS]
    for row in rows:
        since = row["seconds_since_heartbeat"]
        beat = "-" if not row["last_heartbeat"] else f"{row['last_heartbeat']} ({since:.0f}s ago)"
        table.append(
            (
                row["name"],
                row["state"],
                ",".join(row["queues"]) or "-",
                row["current_job"] or "-",
                beat,
            )
        )
    if len(table) == 1:
        table.append(("(no workers)", "", "", "", ""))
    widths = [max(len(line[i]) for line in table) for i in range(len(_WORKER_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in table
    )


def _info_once(args: argparse.Namespace) -> dict[str, Any]:
    from redis.exceptions import RedisError

    from rqjobs import get_queue_stats

    from .enqueue import raise_translated

    body: dict[str, Any] = {}
    try:
        if not args.only_workers:
            body["queues"] = get_queue_stats(args.queues or None)
        if not args.only_queues:
            body["workers"] = _worker_rows(args.queues)
            if args.by_queue:
                body["by_queue"] = _by_queue(body["workers"], body.get("queues"), args.queues)
    except RedisError as exc:
        raise_translated(exc)
    return body


def _by_queue(
    workers: list[dict[str, Any]], queues: Optional[dict[str, Any]], asked: Sequence[str]
) -> dict[str, list[str]]:
    """``{queue: [worker names]}`` (rq info's ``--by-queue``): every queue asked for or known,
    and every queue a worker listens on."""
    grouped: dict[str, list[str]] = {name: [] for name in (asked or queues or ())}
    for row in workers:
        for queue in row["queues"]:
            if asked and queue not in asked:
                continue
            grouped.setdefault(queue, []).append(row["name"])
    return grouped


def _info_text(body: dict[str, Any]) -> str:
    parts = []
    if "queues" in body:
        queues = body["queues"]
        total = sum(counts.get("queued", 0) for counts in queues.values())
        parts.append(_stats_table(queues))
        parts.append(f"{len(queues)} queue(s), {total} job(s) queued")
    if "workers" in body:
        if parts:
            parts.append("")
        parts.append(_workers_table(body["workers"]))
        parts.append(f"{len(body['workers'])} worker(s)")
    if "by_queue" in body:
        parts.append("")
        for queue, names in sorted(body["by_queue"].items()):
            parts.append(f"{queue}: " + (", ".join(names) or "(no workers)"))
    parts.append("Updated: " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return "\n".join(parts)


def cmd_info(args: argparse.Namespace) -> int:
    """Queues and workers, as ``rq info``; ``--interval N`` refreshes until interrupted and
    exits 0 on Ctrl-C (as ``rq info`` does)."""
    try:
        while True:
            body = _info_once(args)
            if args.json:
                print(json.dumps(body, sort_keys=True), flush=True)
            else:
                if args.interval and sys.stdout.isatty():
                    sys.stdout.write("\x1b[H\x1b[2J")
                print(_info_text(body), flush=True)
            if not args.interval:
                return EXIT_OK
            time.sleep(args.interval)
            if not args.json and not sys.stdout.isatty():
                print(flush=True)
    except KeyboardInterrupt:
        return EXIT_OK


# -- exporter -------------------------------------------------------------------------------


def cmd_exporter(args: argparse.Namespace) -> int:
    import signal

    from .connection import get_redis
    from .exporter import serve_exporter

    _require_redis(get_redis())
    _setup_logging(args.logging_level)

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        serve_exporter(args.host, args.port, args.queues or None)
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as exc:  # the port is taken, a bad host
        message = f"cannot listen on {args.host}:{args.port}: {exc}"
        raise CommandError(message, EXIT_FAILURE) from None
    return EXIT_OK


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


# -- dedupe ---------------------------------------------------------------------------------


def _dedupe_status(key: str) -> dict[str, Any]:
    from .dedupe import dedupe_status
    from .errors import ConfigurationError

    try:
        return dict(dedupe_status(key))
    except ValueError as exc:  # InvalidDedupeKeyError, or a ConfigurationError
        if isinstance(exc, ConfigurationError) or _is_bad_key(exc):
            raise CommandError(_message(exc), EXIT_USAGE) from None
        raise


def _is_bad_key(exc: BaseException) -> bool:
    from .errors import InvalidDedupeKeyError

    return isinstance(exc, InvalidDedupeKeyError) or type(exc) is ValueError


def _ttl_text(ttl: Any) -> str:
    if ttl is None:
        return "-"
    try:
        return f"{float(ttl):.1f}s"
    except (TypeError, ValueError):
        return str(ttl)


def _dedupe_text(status: dict[str, Any]) -> str:
    lock_state = status.get("lock_state") or "none"
    if lock_state == "none":
        lock = f"{status.get('lock_key') or '-'} (no lock)"
    else:
        lock = f"{status.get('lock_key')} ({lock_state}, ttl {_ttl_text(status.get('lock_ttl'))})"
    job_id = status.get("job_id")
    queue = status.get("queue")
    job = "-" if not job_id else f"{job_id}" + (f" on queue {queue}" if queue else "")
    accepted = "yes" if status.get("accepts_redelivery") else "no"
    lines = [
        f"dedupe key: {status.get('dedupe_key')}",
        f"lock:       {lock}",
        f"job:        {job}",
        f"status:     {status.get('job_status') or ('-' if not job_id else 'gone')}",
        f"state:      {status.get('state') or '-'}",
        f"a redelivery would be accepted: {accepted}",
    ]
    if status.get("reason"):
        lines.append(f"reason:     {status['reason']}")
    return "\n".join(lines)


def cmd_dedupe_show(args: argparse.Namespace) -> int:
    status = _dedupe_status(args.key)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True, default=str))
    else:
        print(_dedupe_text(status))
    return EXIT_OK


def cmd_dedupe_release(args: argparse.Namespace) -> int:
    from .dedupe import release_dedupe

    _setup_logging("warning")  # the release is logged (WARNING) as an audit line, on stderr
    status = _dedupe_status(args.key)
    try:
        released = bool(release_dedupe(args.key))
    except ValueError as exc:
        if _is_bad_key(exc):
            raise CommandError(_message(exc), EXIT_USAGE) from None
        raise
    lock_key = status.get("lock_key")
    job_id = status.get("job_id")
    job_status = status.get("job_status")
    if args.json:
        body = {
            "dedupe_key": status.get("dedupe_key"),
            "lock_key": lock_key,
            "released": released,
            "job_id": job_id,
            "job_status": job_status,
            "state": status.get("state"),
        }
        print(json.dumps(body, indent=2, sort_keys=True, default=str))
    elif released:
        if job_id and job_status:
            detail = f" (job {job_id} was {job_status})"
        elif job_id:
            detail = f" (job {job_id} is gone)"
        else:
            detail = ""
        print(f"released {lock_key}{detail}")
    else:
        print(f"no lock for {status.get('dedupe_key')} ({lock_key} does not exist)")
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
    from .lock import DEFAULT_LOCK_TTL
    from .scheduler import DEFAULT_TICK

    parser = _Parser(
        prog="rqjobs",
        description="Run and inspect RQ jobs through the rqjobs wrapper (REDIS_URL, SERVICE_ROLE).",
        epilog="Exit status: 0 ok, 1 unhealthy or failure, 2 usage/config error or refused role.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"rqjobs {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        metavar="MODULE",
        help="an rq settings module (as rq's -c): its REDIS_URL, or its SENTINEL dict as a "
        "redis+sentinel:// URL, becomes REDIS_URL for this command",
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
    worker.add_argument(
        "-b", "--burst", action="store_true", help="quit once the queues are empty"
    )
    worker.add_argument("-n", "--name", help="worker name")
    worker.add_argument("--max-jobs", type=int, default=None, help="quit after this many jobs")
    worker.add_argument(
        "--with-scheduler",
        dest="with_scheduler",
        action="store_true",
        default=True,
        help="also run RQ's scheduler, which enqueues Retry(interval=...) retries and "
        "enqueue_in/enqueue_at jobs when they are due (the default)",
    )
    worker.add_argument(
        "--without-scheduler",
        dest="with_scheduler",
        action="store_false",
        help="do not run RQ's scheduler: scheduled jobs wait for a worker that does",
    )
    _worker_flags(worker)
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
    scheduler.add_argument(
        "--tick",
        type=_positive,
        default=DEFAULT_TICK,
        help=f"seconds per cycle ({DEFAULT_TICK:g})",
    )
    scheduler.add_argument(
        "--lock-ttl",
        type=int,
        default=DEFAULT_LOCK_TTL,
        help=f"cycle lock TTL in seconds ({DEFAULT_LOCK_TTL})",
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

    info = sub.add_parser(
        "info",
        help="show queues and workers (as rq info)",
        description="Show the queue counts and every live worker (name, state, queues, "
        "current job, last heartbeat), as rq info does. Allowed in every SERVICE_ROLE.",
    )
    info.add_argument("queues", nargs="*", metavar="QUEUE", help="queues (default: all)")
    info.add_argument(
        "-i",
        "--interval",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="refresh every SECONDS until interrupted (Ctrl-C exits 0)",
    )
    only = info.add_mutually_exclusive_group()
    only.add_argument("-Q", "--only-queues", action="store_true", help="show only queues")
    only.add_argument("-W", "--only-workers", action="store_true", help="show only workers")
    info.add_argument(
        "-R", "--by-queue", action="store_true", help="also list the workers of each queue"
    )
    info.add_argument("--json", action="store_true", help="print JSON (a line per refresh)")
    info.add_argument("-u", "--url", help="the Redis URL (overrides REDIS_URL and -c)")
    info.add_argument(
        "-c",
        "--config",
        metavar="MODULE",
        default=argparse.SUPPRESS,
        help="an rq settings module: its REDIS_URL (or SENTINEL)",
    )
    info.add_argument(
        "-P", "--path", action="append", default=[], help="a folder for -c's module (repeatable)"
    )
    info.set_defaults(handler=cmd_info)

    from .exporter import DEFAULT_PORT

    exporter = sub.add_parser(
        "exporter",
        help="serve Prometheus metrics for the whole cluster on its own port",
        description="A standalone Prometheus exporter (rq-exporter's metric names, plus the "
        "scheduler and dedupe metrics), read from Redis at scrape time: run one per cluster "
        "and scrape it alone, instead of every API pod's /api/jobs/metrics.",
    )
    exporter.add_argument("queues", nargs="*", metavar="QUEUE", help="queues (default: all)")
    exporter.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0)")
    exporter.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on ({DEFAULT_PORT})"
    )
    exporter.add_argument("--logging-level", default="info", help="log level (default: info)")
    exporter.set_defaults(handler=cmd_exporter)

    role = sub.add_parser(
        "role",
        help="show SERVICE_ROLE and what it allows",
        description="Show SERVICE_ROLE and the capabilities it allows and refuses.",
    )
    role.add_argument("--json", action="store_true", help="print JSON")
    role.set_defaults(handler=cmd_role)

    dedupe = sub.add_parser(
        "dedupe",
        help="inspect or release a dedupe lock (job_lock:KEY)",
        description="Inspect or release the lock that enqueue_with_dedupe holds for a dedupe "
        "key. Allowed in every SERVICE_ROLE (an operator command, like stats).",
    )
    actions = dedupe.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    show = actions.add_parser(
        "show",
        help="show the lock, its job and whether a redelivery would be accepted",
        description="Show the dedupe lock of KEY, its TTL, its job and that job's state, and "
        "whether enqueue_with_dedupe would accept a redelivery of KEY now (and why).",
    )
    show.add_argument("key", metavar="KEY", help="the dedupe key (without job_lock:)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_dedupe_show)
    release = actions.add_parser(
        "release",
        help="delete the lock so that the next delivery of KEY is enqueued",
        description="Delete the dedupe lock of KEY (the job itself is left alone), so that "
        "the next delivery of KEY is enqueued. Exit 0 whether or not there was a lock.",
    )
    release.add_argument("key", metavar="KEY", help="the dedupe key (without job_lock:)")
    release.add_argument("--json", action="store_true", help="print JSON")
    release.set_defaults(handler=cmd_dedupe_release)
    return parser


def _with_versions(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--version`` on every command too (``rqjobs worker --version``), as ``rq`` has it."""
    from . import __version__

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.add_argument(
                    "--version", action="version", version=f"rqjobs {__version__}"
                )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``rqjobs`` console script; returns the exit status."""
    try:
        args = _with_versions(build_parser()).parse_args(argv)
        apply_worker_environment(args)  # --path first: -c may live there
        if getattr(args, "config", None):
            apply_config_module(args.config)
        if getattr(args, "url", None):  # --url wins over -c and REDIS_URL, as in rq
            os.environ["REDIS_URL"] = args.url
        check_configuration()
        return int(args.handler(args))
    except CommandError as exc:
        return _fail(_redact(str(exc)), exc.status)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        return _fail(*_classify(exc))


def _classify(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit status of an exception that ended a command."""
    from .errors import ConfigurationError, InvalidDedupeKeyError, RoleViolation

    if isinstance(exc, (ConfigurationError, InvalidDedupeKeyError, RoleViolation)):
        return _message(exc), EXIT_USAGE
    # Every other RqjobsError (RedisUnavailable, Redis refusing a command: READONLY, OOM,
    # NOPERM) and any other failure is a runtime failure.
    return _message(exc, with_type=True), EXIT_FAILURE


def _fail(message: str, status: int) -> int:
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - a closed stdout must not hide the error
        pass
    print(f"rqjobs: error: {message}", file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
