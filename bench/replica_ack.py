"""What replica acknowledgement costs: ``enqueue_with_dedupe`` with and without ``WAIT``.

A real Sentinel deployment on loopback (primary, two replicas, three sentinels; see
``tests/runtime/sentinel_support.py``), the client built from a ``redis+sentinel://`` URL.
The variants alternate round by round in the same sitting (same servers, same process):
no acknowledgement, ``WAIT 1`` and ``WAIT 2``. Each round enqueues ``--calls`` new dedupe
keys one after the other (one producer thread: the per-call latency is what a webhook
handler waits). Writes its section of BENCHMARKS.md.

    python bench/replica_ack.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "runtime"))

from bench_support import write_section  # noqa: E402
from sentinel_support import SentinelCluster  # noqa: E402

TITLE = "## Replica acknowledgement (WAIT)"
VARIANTS = (("no acknowledgement", 0), ("RQJOBS_MIN_REPLICAS=1", 1), ("RQJOBS_MIN_REPLICAS=2", 2))


def one_round(replicas: int, calls: int, tag: str) -> tuple[float, float, float]:
    """``(calls per second, median ms, p99 ms)`` of ``calls`` enqueue_with_dedupe calls."""
    import rqjobs
    from rqjobs.replication import require_replicas

    latencies = []
    with require_replicas(replicas, timeout_ms=1000):
        started = time.perf_counter()
        for index in range(calls):
            begin = time.perf_counter()
            job = rqjobs.enqueue_with_dedupe("bench", "os.getpid", dedupe_key=f"{tag}:{index}")
            latencies.append(time.perf_counter() - begin)
            assert job is not None
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return calls / elapsed, statistics.median(latencies) * 1000, p99 * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cluster = SentinelCluster(Path(folder)).start()
        try:
            os.environ["REDIS_URL"] = cluster.url()
            os.environ.pop("RQJOBS_MIN_REPLICAS", None)
            import rqjobs

            rqjobs.reset_redis()
            one_round(0, 200, "warmup")
            results: dict[str, list[tuple[float, float, float]]] = {v: [] for v, _ in VARIANTS}
            for round_no in range(args.rounds):
                for name, replicas in VARIANTS:
                    results[name].append(one_round(replicas, args.calls, f"r{round_no}-{replicas}"))
                cluster.client(cluster.master_port).flushall()
        finally:
            cluster.stop()
    base = statistics.median(rate for rate, _, _ in results[VARIANTS[0][0]])
    rows = [
        "| variant | calls/s | median latency | p99 latency | calls/s vs none |",
        "|---|---|---|---|---|",
    ]
    for name, _ in VARIANTS:
        rate = statistics.median(r for r, _, _ in results[name])
        median = statistics.median(m for _, m, _ in results[name])
        p99 = statistics.median(p for _, _, p in results[name])
        rows.append(
            f"| {name} | {rate:,.0f} | {median:.3f} ms | {p99:.3f} ms | {rate / base:.2f} |"
        )
    text = "\n".join(
        [
            TITLE,
            "",
            f"`python bench/replica_ack.py --calls {args.calls} --rounds {args.rounds}`: "
            "`enqueue_with_dedupe` of new keys, one caller, through a `redis+sentinel://` URL "
            "(primary + 2 replicas + 3 sentinels on loopback, redis-server 7.0); the variants "
            f"alternate round by round in one sitting; medians of {args.rounds} rounds of "
            f"{args.calls} calls. {platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} CPUs.",
            "",
            *rows,
            "",
            "The acknowledgement adds one pipelined round trip (reads + marker + `WAIT`) and the "
            "replicas' acknowledgement delay; on loopback that is the whole cost. Across hosts "
            "add the slowest acknowledging replica's round trip per call.",
        ]
    )
    write_section(TITLE, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
