"""Enqueue speed: RQ, rqjobs (single, dedupe, batched) and BullMQ against one Redis.

One throwaway redis-server on a free port (pytest-redis's executor). Every variant runs in
producer processes that the benchmark starts and drives (Python ones for RQ and rqjobs, a
Node one per producer for BullMQ, ``bench/bullmq_bench.js``), against the same server in
the same sitting. A round gives every variant ``--jobs`` jobs in chunks of ``--chunk``; the
variants take turns chunk by chunk (rotating order), so load swings on a shared machine hit
all of them alike. Per chunk the benchmark resets Redis's ``INFO commandstats`` and reads
``INFO cpu`` before and after (untimed), then ``FLUSHALL`` (untimed).

Reported per variant (medians over rounds, with the per-round range): jobs/s; client CPU
µs/job (the producers' own CPU, user + system, so it includes the kernel's share of the
socket calls); Redis commandstats µs/job (the commands the client sent: ``EVALSHA`` and
``EXEC`` include the commands they run, which are not counted again); server CPU µs/job
(``used_cpu_user + used_cpu_sys`` of redis-server). Ratios are medians of per-round ratios
against plain RQ and against the BullMQ counterpart measured in the same round. Then 2 and
4 producer processes for the main variants, and ``get_queue_stats`` with 1,000 vs 100,000
jobs.

BullMQ: ``bench/package.json`` is installed with npm into a throwaway folder (never into
the work tree); without node or npm, or when the install fails, the BullMQ rows are skipped
with the reason printed.

Usage: ``python bench/enqueue_speed.py [--quick] [--jobs 10000] [--runs 5] [--chunk 1000]
[--producers 1,2,4] [--no-write]``. Writes the ``## Enqueue speed`` section of
BENCHMARKS.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "runtime"))

import redis  # noqa: E402
import rq  # noqa: E402
from rq import Queue  # noqa: E402

FUNC = "os.path.join"  # never executed; a string reference costs every variant the same
QUEUE = "bench"
TITLE = "## Enqueue speed"
TOP_LEVEL = {"multi", "watch", "unwatch", "discard", "evalsha", "eval", "evalsha_ro", "eval_ro"}
TOP_LEVEL |= {"exec", "fcall", "fcall_ro"}
IGNORED = {"info", "config|resetstat", "config", "flushall", "ping", "client|setinfo", "hello"}
IGNORED |= {"client|setname", "script|load", "select", "client"}

# name -> (label, kind, BullMQ counterpart or None)
VARIANTS: dict[str, tuple[str, str, str | None]] = {
    "rq": ("plain `rq.Queue.enqueue` (baseline)", "py", None),
    "rq_unique": ("`rq.Queue.enqueue(..., job_id=, unique=True)`", "py", None),
    "rq_many100": ("`rq.Queue.enqueue_many`, pipelined, batches of 100", "py", "bulk100"),
    "enqueue": ("`rqjobs.enqueue`", "py", "add"),
    "dedupe_new": ("`enqueue_with_dedupe`, all new keys", "py", "add_dedupe"),
    "dedupe_half": ("`enqueue_with_dedupe`, 50% repeats", "py", "add_dedupe_half"),
    "floor_dedupe": (
        "Python floor: the same script and job hash over a raw socket (not an API)",
        "py",
        "add_dedupe",
    ),
    "many10": ("`enqueue_many`, batches of 10", "py", None),
    "many100": ("`enqueue_many`, batches of 100", "py", "bulk100"),
    "dd_many10": ("`enqueue_many_with_dedupe`, batches of 10", "py", None),
    "dd_many100": ("`enqueue_many_with_dedupe`, batches of 100", "py", "bulk_dedupe100"),
    "enqueue_h": ("`rqjobs.enqueue`, with hiredis", "pyh", "add"),
    "dedupe_new_h": ("`enqueue_with_dedupe`, all new keys, with hiredis", "pyh", "add_dedupe"),
    "dd_many100_h": (
        "`enqueue_many_with_dedupe`, batches of 100, with hiredis",
        "pyh",
        "bulk_dedupe100",
    ),
    "add": ("BullMQ `queue.add`", "node", None),
    "add_dedupe": ("BullMQ `queue.add` with `deduplication: {id}`", "node", None),
    "add_dedupe_half": ("BullMQ `add` with deduplication, 50% repeats", "node", None),
    "bulk100": ("BullMQ `addBulk`, batches of 100", "node", None),
    "bulk_dedupe100": ("BullMQ `addBulk` with deduplication, batches of 100", "node", None),
}
MULTI_VARIANTS = [
    "rq",
    "enqueue",
    "dedupe_new",
    "dd_many100",
    "add",
    "add_dedupe",
    "bulk_dedupe100",
]
NODE_COMMANDS = {
    "add": ("add", 1),
    "add_dedupe": ("add_dedupe", 1),
    "add_dedupe_half": ("add_dedupe_half", 1),
    "bulk100": ("bulk", 100),
    "bulk_dedupe100": ("bulk_dedupe", 100),
}


# -- the Python producer (a subprocess of the benchmark) ------------------------------------


def _python_variants() -> dict[str, Callable[[int, int, str], None]]:
    import rqjobs
    from rqjobs import JobSpec

    client = rqjobs.get_redis()
    queue = Queue(QUEUE, connection=client)

    def plain(start: int, stop: int, tag: str) -> None:
        for index in range(start, stop):
            queue.enqueue(FUNC, "a", str(index))

    def unique(start: int, stop: int, tag: str) -> None:
        for index in range(start, stop):
            queue.enqueue(FUNC, "a", str(index), job_id=f"u-{tag}-{index}", unique=True)

    def rq_many(start: int, stop: int, tag: str) -> None:
        for first in range(start, stop, 100):
            data = [
                Queue.prepare_data(FUNC, ("a", str(i)))
                for i in range(first, min(stop, first + 100))
            ]
            with client.pipeline() as pipe:
                queue.enqueue_many(data, pipeline=pipe)
                pipe.execute()

    def wrapped(start: int, stop: int, tag: str) -> None:
        for index in range(start, stop):
            rqjobs.enqueue(QUEUE, FUNC, "a", str(index))

    def dedupe_new(start: int, stop: int, tag: str) -> None:
        for index in range(start, stop):
            rqjobs.enqueue_with_dedupe(QUEUE, FUNC, "a", str(index), dedupe_key=f"b:{tag}:{index}")

    floor = _floor_producer(client, queue)

    def dedupe_half(start: int, stop: int, tag: str) -> None:
        for index in range(start, stop):  # every key delivered twice in a row
            rqjobs.enqueue_with_dedupe(
                QUEUE, FUNC, "a", str(index // 2), dedupe_key=f"h:{tag}:{index // 2}"
            )

    def many(size: int) -> Callable[[int, int, str], None]:
        def run(start: int, stop: int, tag: str) -> None:
            for first in range(start, stop, size):
                rqjobs.enqueue_many(
                    QUEUE,
                    [JobSpec(FUNC, "a", str(i)) for i in range(first, min(stop, first + size))],
                )

        return run

    def dd_many(size: int) -> Callable[[int, int, str], None]:
        def run(start: int, stop: int, tag: str) -> None:
            for first in range(start, stop, size):
                rqjobs.enqueue_many_with_dedupe(
                    QUEUE,
                    [
                        JobSpec(FUNC, "a", str(i), dedupe_key=f"m{size}:{tag}:{i}")
                        for i in range(first, min(stop, first + size))
                    ],
                )

        return run

    return {
        "rq": plain,
        "rq_unique": unique,
        "rq_many100": rq_many,
        "enqueue": wrapped,
        "dedupe_new": dedupe_new,
        "dedupe_half": dedupe_half,
        "floor_dedupe": floor,
        "many10": many(10),
        "many100": many(100),
        "dd_many10": dd_many(10),
        "dd_many100": dd_many(100),
    }


def _floor_producer(client: Any, queue: Queue) -> Callable[[int, int, str], None]:
    """What one ``enqueue_with_dedupe`` cannot do with less Python: the same EVALSHA of the
    same dedupe script, the same job hash (RQ's, as the lean path writes it), and only the
    per-job work RQ's hash needs (key, id, token, two timestamps, pickle + zlib of the call,
    the description, pickled meta), sent over a raw blocking socket with one ``recv`` per
    reply: no option checks, no retries, no deadline, no error handling. Not an API: a floor
    that tells how much of a row's client CPU is the runtime's own layers."""
    import pickle
    import socket
    import zlib
    from datetime import datetime, timezone

    import rqjobs
    from rqjobs import dedupe, fastjob, scripts
    from rqjobs.job_ids import generate_deterministic_job_id

    fastjob.reset()
    for index in range(2):  # calibrate the shape, then find its template
        rqjobs.enqueue_with_dedupe(QUEUE, FUNC, "a", "0", dedupe_key=f"floor-setup-{index}")
    (template,) = [t for t in fastjob._templates.values() if t is not None]
    kwargs = client.connection_pool.connection_kwargs
    sock = socket.create_connection((kwargs.get("host", "localhost"), kwargs.get("port", 6379)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(kwargs.get("socket_timeout"))
    grace = rqjobs.settings.orphan_grace()
    sample = scripts.Fields(template.static, template.static_count)
    keys, argv = dedupe.dedupe_call(
        queue, "k", dedupe.DEFAULT_TTL, "t", "i", sample, {}, None, grace
    )
    loaded = client.script_load(scripts.DEDUPE_ENQUEUE)
    sha = loaded if isinstance(loaded, bytes) else loaded.encode()
    count = len(keys) + len(argv) - 1 + template.static_count + 12
    head = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%b\r\n$1\r\n%d\r\n" % (
        3 + count, sha, len(keys)
    )
    shared_keys = b"".join(scripts._bulk(item) for item in keys[2:])
    between = b"".join(scripts._bulk(item) for item in argv[1:5])
    after_id = b"".join(scripts._bulk(item) for item in argv[7:9])
    static = template.static
    bulk = fastjob._item  # one RESP bulk string, as the lean path packs a field
    lock_prefix = dedupe.LOCK_PREFIX
    job_prefix = template.key_prefix
    host, pid, utc = sys.modules["rqjobs.enqueue"]._HOST, os.getpid(), timezone.utc
    dumps, compress, urandom = pickle.dumps, zlib.compress, os.urandom
    stamp = fastjob._TIMESTAMP

    def run(start: int, stop: int, tag: str) -> None:
        for index in range(start, stop):
            key = f"f:{tag}:{index}"
            job_id = generate_deterministic_job_id(key)
            token = urandom(12).hex().encode()
            args = ("a", str(index))
            now = datetime.now(utc).strftime(stamp).encode()
            meta = {"enqueued_by": {"role": "all", "host": host, "pid": pid}, "dedupe_key": key}
            description = f"{FUNC}({args[0]!r}, {args[1]!r})".encode()
            payload = b"".join(
                (
                    head,
                    bulk((lock_prefix + key).encode()),
                    bulk((job_prefix + job_id).encode()),
                    shared_keys,
                    bulk(token),
                    between,
                    bulk(job_id.encode()),
                    b"$1\r\n1\r\n",
                    after_id,
                    static,
                    b"$10\r\ncreated_at\r\n",
                    bulk(now),
                    b"$11\r\nenqueued_at\r\n",
                    bulk(now),
                    b"$4\r\ndata\r\n",
                    bulk(compress(dumps((FUNC, None, args, {}), pickle.HIGHEST_PROTOCOL))),
                    b"$12\r\nrqjobs_token\r\n",
                    bulk(token),
                    b"$11\r\ndescription\r\n",
                    bulk(description),
                    b"$4\r\nmeta\r\n",
                    bulk(dumps(meta, pickle.HIGHEST_PROTOCOL)),
                )
            )
            sock.sendall(payload)
            reply = sock.recv(65536)
            if reply[:1] == b"-":
                raise RuntimeError(f"floor: unexpected reply {reply[:200]!r}")

    return run


def producer_main(hiredis: bool) -> int:
    """``--producer``: read JSON commands on stdin, answer ``{"elapsed", "cpu"}`` per command.

    Without ``hiredis`` the module is hidden before redis-py is imported, so redis-py uses
    its own reply parser even where hiredis is installed."""
    if not hiredis:
        sys.modules["hiredis"] = None  # type: ignore[assignment]
    variants = _python_variants()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        run = variants[command["variant"].removesuffix("_h")]
        start = command["start"]
        began, cpu = time.perf_counter(), time.process_time()
        run(start, start + command["count"], command["tag"])
        print(
            json.dumps({"elapsed": time.perf_counter() - began, "cpu": time.process_time() - cpu}),
            flush=True,
        )
    return 0


# -- the driver ---------------------------------------------------------------------------


class Producer:
    """One producer process speaking the JSON-lines protocol."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: str) -> None:
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd
        )
        ready = self.proc.stdout.readline() if self.proc.stdout else ""
        if '"ready"' not in ready:
            raise RuntimeError(f"producer {command[:2]} did not start: {ready!r}")

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict[str, float]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a producer exited")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def install_bullmq(folder: Path) -> tuple[Path | None, str]:
    """``bench/package.json`` installed into ``folder``; (script path, "") or (None, reason)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, f"BullMQ rows skipped: {'node' if node is None else 'npm'} is not installed"
    shutil.copy(HERE / "package.json", folder / "package.json")
    shutil.copy(HERE / "bullmq_bench.js", folder / "bullmq_bench.js")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        return None, f"BullMQ rows skipped: npm install failed: {done.stderr.strip()[-300:]}"
    return folder / "bullmq_bench.js", ""


def install_hiredis(folder: Path) -> tuple[Path | None, str]:
    """hiredis (the ``speed`` extra) pip-installed into ``folder``, for the hiredis rows."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(folder), "hiredis>=2,<4"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if done.returncode != 0:
        return None, f"hiredis rows skipped: pip install failed: {done.stderr.strip()[-300:]}"
    return folder, ""


def commandstats_usec(client: redis.Redis) -> float:
    """usec of the commands clients sent since the last ``CONFIG RESETSTAT`` (commands run
    inside EVALSHA/EXEC are part of those and not counted again)."""
    stats = client.info("commandstats")
    names = {name.removeprefix("cmdstat_"): value for name, value in stats.items()}
    names = {name: value for name, value in names.items() if name not in IGNORED}
    if any(name in names for name in TOP_LEVEL - {"multi", "watch", "unwatch", "discard"}):
        names = {name: value for name, value in names.items() if name in TOP_LEVEL}
    return float(sum(value["usec"] for value in names.values()))


def server_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Bench:
    def __init__(self, url: str, node_script: Path | None, hiredis_dir: Path | None) -> None:
        self.url = url
        self.node_script = node_script
        self.hiredis_dir = hiredis_dir
        host, port = url.split("//")[1].split("/")[0].split(":")
        self.client = redis.Redis(host=host, port=int(port))

    def producers(self, kind: str, count: int) -> list[Producer]:
        env = dict(os.environ, REDIS_URL=self.url)
        env.pop("RQJOBS_QUEUES", None)
        env.pop("RQJOBS_SERIALIZER", None)
        if kind in ("py", "pyh"):
            command = [sys.executable, str(Path(__file__).resolve()), "--producer"]
            if kind == "pyh":
                assert self.hiredis_dir is not None
                env["PYTHONPATH"] = os.pathsep.join(
                    part for part in (str(self.hiredis_dir), env.get("PYTHONPATH", "")) if part
                )
                command.append("--hiredis")
            return [Producer(command, env, str(ROOT)) for _ in range(count)]
        assert self.node_script is not None
        command = ["node", str(self.node_script), self.url, QUEUE]
        return [Producer(command, env, str(self.node_script.parent)) for _ in range(count)]

    def chunk(
        self, producers: list[Producer], variant: str, start: int, count: int, tag: str
    ) -> dict[str, float]:
        """Run one chunk on every producer at once; wall, CPU and Redis's costs."""
        kind = VARIANTS[variant][1]
        self.client.config_resetstat()
        cpu_before = server_cpu(self.client)
        if kind == "node":
            name, batch = NODE_COMMANDS[variant]
            commands = [
                {
                    "variant": name,
                    "start": start,
                    "count": count,
                    "tag": f"{tag}p{n}",
                    "batch": batch,
                }
                for n in range(len(producers))
            ]
        else:
            commands = [
                {"variant": variant, "start": start, "count": count, "tag": f"{tag}p{n}"}
                for n in range(len(producers))
            ]
        began = time.perf_counter()
        for producer, command in zip(producers, commands):
            producer.send(command)
        replies = [producer.receive() for producer in producers]
        wall = time.perf_counter() - began
        usec = commandstats_usec(self.client)
        cpu = server_cpu(self.client) - cpu_before
        self.client.flushall()
        return {
            "wall": wall,
            "client_cpu": sum(reply["cpu"] for reply in replies),
            "usec": usec,
            "server_cpu": cpu,
            "jobs": count * len(producers),
        }

    def measure(
        self, names: list[str], per_producer: int, jobs: int, runs: int, chunk: int, label: str
    ) -> dict[str, list[dict[str, float]]]:
        """``runs`` rounds; per round and variant the summed costs of its chunks."""
        pools = {
            kind: self.producers(kind, per_producer)
            for kind in {VARIANTS[name][1] for name in names}
        }
        try:
            for name in names:  # warm-up: scripts loaded, shapes calibrated, JIT warm
                self.chunk(pools[VARIANTS[name][1]], name, 0, min(chunk, 300), "warm")
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in names}
            per_chunk = max(1, chunk // per_producer)
            for run in range(runs):
                totals = {
                    name: dict.fromkeys(("wall", "client_cpu", "usec", "server_cpu", "jobs"), 0.0)
                    for name in names
                }
                for number, start in enumerate(range(0, jobs // per_producer, per_chunk)):
                    count = min(per_chunk, jobs // per_producer - start)
                    shift = number % len(names)
                    for name in names[shift:] + names[:shift]:
                        result = self.chunk(pools[VARIANTS[name][1]], name, start, count, f"r{run}")
                        for key, value in result.items():
                            totals[name][key] += value
                for name in names:
                    rounds[name].append(totals[name])
                print(
                    f"{label} round {run + 1}/{runs}: "
                    + ", ".join(f"{n} {t['jobs'] / t['wall']:,.0f}" for n, t in totals.items()),
                    flush=True,
                )
            return rounds
        finally:
            for pool in pools.values():
                for producer in pool:
                    producer.close()


def summarize(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    base = rounds.get("rq")
    for name, per_round in rounds.items():
        rates = [r["jobs"] / r["wall"] for r in per_round]
        row = {
            "rate": statistics.median(rates),
            "low": min(rates),
            "high": max(rates),
            "client_cpu": statistics.median(r["client_cpu"] / r["jobs"] * 1e6 for r in per_round),
            "usec": statistics.median(r["usec"] / r["jobs"] for r in per_round),
            "server_cpu": statistics.median(r["server_cpu"] / r["jobs"] * 1e6 for r in per_round),
        }
        if base is not None:
            ratios = [rate / (b["jobs"] / b["wall"]) for rate, b in zip(rates, base)]
            row.update(
                ratio=statistics.median(ratios), ratio_low=min(ratios), ratio_high=max(ratios)
            )
        peer = VARIANTS[name][2]
        if peer is not None and peer in rounds:
            ratios = [rate / (p["jobs"] / p["wall"]) for rate, p in zip(rates, rounds[peer])]
            row.update(peer=statistics.median(ratios), peer_low=min(ratios), peer_high=max(ratios))
        out[name] = row
    return out


# -- get_queue_stats at 1,000 vs 100,000 (kept from the earlier benchmark) -----------------


def fill(client: redis.Redis, jobs: int) -> None:
    from rq.registry import (
        CanceledJobRegistry,
        DeferredJobRegistry,
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
        StartedJobRegistry,
    )

    client.flushall()
    client.sadd("rq:queues", f"rq:queue:{QUEUE}")
    far = time.time() + 10**7
    for start in range(0, jobs, 10_000):
        ids = [f"j{index}" for index in range(start, min(jobs, start + 10_000))]
        pipe = client.pipeline(transaction=False)
        pipe.rpush(f"rq:queue:{QUEUE}", *ids)
        for registry in (
            StartedJobRegistry,
            FinishedJobRegistry,
            FailedJobRegistry,
            DeferredJobRegistry,
            ScheduledJobRegistry,
            CanceledJobRegistry,
        ):
            pipe.zadd(registry.key_template.format(QUEUE), dict.fromkeys(ids, far))
        pipe.execute()


def measure_stats(client: redis.Redis, url: str, repeat: int) -> dict[int, float]:
    os.environ["REDIS_URL"] = url
    import rqjobs

    rqjobs.reset_redis()
    results = {}
    for size in (1_000, 100_000):
        fill(client, size)
        samples = []
        for _ in range(repeat):
            began = time.perf_counter()
            rqjobs.get_queue_stats([QUEUE])
            samples.append(time.perf_counter() - began)
        results[size] = statistics.median(samples)
    client.flushall()
    rqjobs.reset_redis()
    return results


# -- the table ------------------------------------------------------------------------------


def _x(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def render(
    single: dict[str, dict[str, float]],
    multi: dict[int, dict[str, dict[str, float]]],
    stats: dict[int, float],
    args: argparse.Namespace,
    skipped: str,
) -> tuple[str, list[str]]:
    lines = [
        TITLE,
        "",
        f"`bench/enqueue_speed.py{' --quick' if args.quick else ''}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, rq {rq.__version__}, redis-py "
        f"{redis.__version__}, Python {platform.python_version()}, redis-server "
        f"{args.server_version}, reply parser {args.parser}, {os.cpu_count()} cores "
        f"(shared, noisy). {args.jobs:,} jobs per "
        f"variant and round, {args.runs} rounds, the variants taking turns every {args.chunk} "
        "jobs. Medians over rounds; ranges are the per-round min-max; ratios are medians of "
        "per-round ratios (same round). Client CPU is the producer process's user + system "
        "time (the kernel's share of its socket calls included); Redis µs/job is INFO "
        "commandstats of the commands the client sent (EVALSHA/EXEC include what they run); "
        "server CPU is redis-server's user + system time.",
        "",
    ]
    if skipped:
        lines += [f"**{skipped}.**", ""]
    lines += [
        "One producer process:",
        "",
        "| variant | jobs/s | range | vs plain RQ | vs BullMQ peer | client CPU µs/job | "
        "Redis cmdstat µs/job | server CPU µs/job |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in single.items():
        peer = VARIANTS[name][2]
        peer_text = ""
        if "peer" in row and peer is not None:
            peer_text = f"{_x(row['peer'])} ({row['peer_low']:.2f}-{row['peer_high']:.2f})"
        lines.append(
            f"| {VARIANTS[name][0]} | {row['rate']:,.0f} | {row['low']:,.0f}-{row['high']:,.0f} | "
            f"{_x(row.get('ratio'))} | {peer_text} | {row['client_cpu']:.0f} | "
            f"{row['usec']:.1f} | {row['server_cpu']:.0f} |"
        )
    peers = ", ".join(
        f"{VARIANTS[n][0]} -> {VARIANTS[p][0]}"
        for n, (_, _, p) in VARIANTS.items()
        if p is not None and n in single and p in single
    )
    if peers:
        lines += ["", f"BullMQ peers: {peers}."]
    for producers, rows in sorted(multi.items()):
        lines += [
            "",
            f"{producers} producer processes (each its share of the jobs, at once):",
            "",
            "| variant | jobs/s (all producers) | range | vs plain RQ | vs BullMQ peer | "
            "Redis cmdstat µs/job | server CPU µs/job |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, row in rows.items():
            lines.append(
                f"| {VARIANTS[name][0]} | {row['rate']:,.0f} | "
                f"{row['low']:,.0f}-{row['high']:,.0f} | "
                f"{_x(row.get('ratio'))} | {_x(row.get('peer'))} | {row['usec']:.1f} | "
                f"{row['server_cpu']:.0f} |"
            )
    verdicts = targets(single)
    lines += ["", "Targets (one producer, medians of per-round ratios):", ""]
    lines += [f"* {verdict}" for verdict in verdicts]
    lines += [
        "",
        "What the rows do. Every rqjobs row builds RQ's job hash on the lean path "
        "(`rqjobs.fastjob`: the first job of a shape is built by RQ and compared field by field, "
        "later ones only compute the per-job fields) and sends one pre-encoded `EVALSHA` per job "
        "on a connection kept for that path; the batch rows pipeline one `EVALSHA` per job in "
        "one round trip. The 50%-repeats rows count calls: a key this process enqueued lately "
        "is sent as a probe without its payload, so a duplicate costs no job build. BullMQ's "
        "deduplicated add keeps its id until the job completes; `enqueue_with_dedupe` also checks "
        "the held job's real state (queued in its list, live heartbeat, scheduler, window), "
        "writes a lock with a TTL and counts enqueues and hits, in the same script. Python's "
        "share is the client CPU column. The Python floor row sends the same script with the "
        "same job hash over a raw socket, doing only the per-job work RQ's hash needs (key, id, "
        "token, timestamps, pickle + zlib of the call, description, meta): the difference "
        "between it and `enqueue_with_dedupe` is the runtime's own layers (validation, queue "
        "and shape lookups, argument encoding, redis-py's connection and reply parser, the "
        "retry and deadline wrapper), not Python itself.",
    ]
    if stats:
        small, large = sorted(stats)
        lines += [
            "",
            f"`get_queue_stats([queue])` with the queue list and each of RQ's six registries "
            f"holding N entries: {stats[small] * 1000:.3f} ms at N = {small:,}, "
            f"{stats[large] * 1000:.3f} ms at N = {large:,} ({stats[large] / stats[small]:.2f}x; "
            "target within 1.5x).",
        ]
    return "\n".join(lines) + "\n", verdicts


def targets(single: dict[str, dict[str, float]]) -> list[str]:
    out = []

    def verdict(text: str, met: bool | None) -> None:
        out.append(f"{text}: {'met' if met else 'not measured' if met is None else 'MISSED'}")

    def get(name: str, key: str) -> float | None:
        return single.get(name, {}).get(key)

    dd_peer, dd_rq = get("dedupe_new", "peer"), get("dedupe_new", "ratio")
    verdict(
        f"`enqueue_with_dedupe` >= BullMQ deduplicated add ({_x(dd_peer) or 'n/a'})",
        None if dd_peer is None else dd_peer >= 1.0,
    )
    verdict(
        f"`enqueue_with_dedupe` >= 2.5x plain RQ ({_x(dd_rq)})",
        None if dd_rq is None else dd_rq >= 2.5,
    )
    en_peer, en_rq = get("enqueue", "peer"), get("enqueue", "ratio")
    verdict(
        f"stretch: `enqueue` >= BullMQ plain add ({_x(en_peer) or 'n/a'})",
        None if en_peer is None else en_peer >= 1.0,
    )
    verdict(f"`enqueue` >= 3x plain RQ ({_x(en_rq)})", None if en_rq is None else en_rq >= 3.0)
    many = single.get("dd_many100")
    if many is not None and many["usec"] > 0:
        ceiling = 1e6 / many["usec"]
        verdict(
            f"`enqueue_many_with_dedupe` (100) >= 80% of the Redis-side ceiling "
            f"({many['rate']:,.0f} jobs/s = {many['rate'] / ceiling:.0%} of 1e6 / "
            f"{many['usec']:.1f} µs = {ceiling:,.0f})",
            many["rate"] >= 0.8 * ceiling,
        )
        peer = many.get("peer")
        verdict(
            f"`enqueue_many_with_dedupe` (100) ahead of BullMQ addBulk with deduplication "
            f"({_x(peer) or 'n/a'})",
            None if peer is None else peer > 1.0,
        )
    for name in ("dedupe_new_h", "dd_many100_h", "enqueue_h"):
        row = single.get(name)
        if row is not None and "peer" in row:
            out.append(
                f"with hiredis (the `speed` extra): {VARIANTS[name][0]} {_x(row['peer'])} of its "
                f"BullMQ peer, {_x(row.get('ratio'))} plain RQ"
            )
    ours, theirs = single.get("dedupe_new"), single.get("add_dedupe")
    if ours is not None and theirs is not None:
        verdict(
            f"Redis-side cost per deduplicated job <= BullMQ's (cmdstat {ours['usec']:.1f} vs "
            f"{theirs['usec']:.1f} µs; server CPU {ours['server_cpu']:.0f} vs "
            f"{theirs['server_cpu']:.0f} µs)",
            ours["usec"] <= theirs["usec"] and ours["server_cpu"] <= theirs["server_cpu"],
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hiredis", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="2,000 jobs, 2 rounds, 1-2 producers")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--producers", default="1,2,4")
    parser.add_argument("--no-bullmq", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.producer:
        return producer_main(args.hiredis)
    if args.quick:
        args.jobs, args.runs, args.chunk, args.producers = 2_000, 2, 500, "1,2"
    counts = [int(n) for n in args.producers.split(",") if n.strip()]
    from bench_support import start_redis, write_section

    with tempfile.TemporaryDirectory(prefix="rqjobs-enqueue-bench-") as tmp:
        node_script, skipped = (None, "BullMQ rows skipped: --no-bullmq")
        if not args.no_bullmq:
            node_dir = Path(tmp) / "bullmq"
            node_dir.mkdir()
            node_script, skipped = install_bullmq(node_dir)
        hiredis_dir, hiredis_skipped = install_hiredis(Path(tmp) / "hiredis")
        skipped = "; ".join(part for part in (skipped, hiredis_skipped) if part)
        if skipped:
            print(skipped, flush=True)
        datadir = Path(tmp) / "redis"
        datadir.mkdir()
        server = start_redis(datadir)
        try:
            url = f"redis://{server.host}:{server.port}/0"
            bench = Bench(url, node_script, hiredis_dir)
            args.server_version = bench.client.info("server")["redis_version"]
            args.parser = "redis-py's own, hiredis in the rows that say so"
            available = {
                "py": True,
                "pyh": hiredis_dir is not None,
                "node": node_script is not None,
            }
            names = [n for n in VARIANTS if available[VARIANTS[n][1]]]
            single = summarize(
                bench.measure(names, 1, args.jobs, args.runs, args.chunk, "1 producer")
            )
            multi = {}
            for count in counts:
                if count <= 1:
                    continue
                multi_names = [n for n in MULTI_VARIANTS if n in names]
                rounds = bench.measure(
                    multi_names,
                    count,
                    args.jobs,
                    max(2, args.runs - 2),
                    args.chunk,
                    f"{count} producers",
                )
                multi[count] = summarize(rounds)
            stats = measure_stats(bench.client, url, 50 if args.quick else 200)
            bench.client.close()
        finally:
            server.stop()
    text, _ = render(single, multi, stats, args, skipped)
    print(text)
    if not args.no_write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
