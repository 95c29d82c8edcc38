"""``REDIS_URL=rediss://...`` against a real TLS-only redis-server.

A throwaway CA and a server certificate for ``127.0.0.1``/``localhost`` are made with the
``openssl`` CLI; the session's redis-server binary is started by mirakuru's ``TCPExecutor``
with TLS only (``--port 0``). Two servers per module: one without a password, one with
``--requirepass``. Every call below goes over TLS, because the servers have no plain port.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import rqjobs
from mirakuru import TCPExecutor
from mirakuru.exceptions import ExecutorError
from port_for import get_port
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq.job import Job
from rqjobs.errors import RedisUnavailable
from runtime_support import run_worker

QUEUE = "tls"
UseUrl = Callable[[str], None]
PASSWORD = "tls-S3cret-" + secrets.token_hex(4)
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = rqjobs throwaway test CA

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path


@dataclass
class TlsServer:
    port: int
    ca: Path
    password: str | None

    def url(self, host: str = "127.0.0.1", *, ca: bool = True, password: str | None = None) -> str:
        """``rediss://`` URL; ``ca=False`` leaves out ``ssl_ca_certs`` (verification still on)."""
        secret = self.password if password is None else password
        auth = f":{quote(secret, safe='')}@" if secret else ""
        query = "ssl_cert_reqs=required"
        if ca:
            query = f"ssl_ca_certs={quote(str(self.ca), safe='/')}&{query}"
        return f"rediss://{auth}{host}:{self.port}/0?{query}"

    def client(self) -> redis.Redis:
        """A plain redis-py client of the test itself (not rqjobs's cached one)."""
        return redis.Redis.from_url(self.url(), socket_timeout=5)


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"openssl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")


def make_certs(directory: Path) -> Certs:
    """A CA (P-256, 2 days) and a server certificate it signed for 127.0.0.1 and localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "openssl.cnf").write_text(OPENSSL_CONFIG)
    ec = ("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    _openssl(*ec, "-out", "ca.key", cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-config", "openssl.cnf", "-extensions", "v3_ca",
        "-key", "ca.key", "-sha256", "-days", "2", "-out", "ca.crt",
        cwd=directory,
    )  # fmt: skip
    _openssl(*ec, "-out", "server.key", cwd=directory)
    _openssl(
        "req", "-new", "-config", "openssl.cnf", "-key", "server.key",
        "-subj", "/CN=localhost", "-out", "server.csr",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-set_serial", str(secrets.randbits(63)), "-sha256", "-days", "2",
        "-extfile", "openssl.cnf", "-extensions", "v3_server", "-out", "server.crt",
        cwd=directory,
    )  # fmt: skip
    return Certs(
        ca=directory / "ca.crt", cert=directory / "server.crt", key=directory / "server.key"
    )


def start_tls_server(
    executable: str, certs: Certs, datadir: Path, password: str | None
) -> tuple[TCPExecutor, TlsServer]:
    """redis-server with TLS only, on a free port; fails the test loudly when it cannot start."""
    datadir.mkdir(parents=True, exist_ok=True)
    port = get_port(None)
    assert port is not None
    command = [
        executable,
        "--port", "0",
        "--tls-port", str(port),
        "--tls-cert-file", str(certs.cert),
        "--tls-key-file", str(certs.key),
        "--tls-ca-cert-file", str(certs.ca),
        "--tls-auth-clients", "no",
        "--bind", "127.0.0.1", "127.0.0.2", "-::1",
        "--dir", str(datadir),
        "--save", "",
        "--appendonly", "no",
        "--loglevel", "warning",
    ]  # fmt: skip
    if password:
        command += ["--requirepass", password]
    log_path = datadir / "redis.log"
    log = log_path.open("w")
    executor = TCPExecutor(
        command, host="127.0.0.1", port=port, timeout=20, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        executor.start()
    except ExecutorError as exc:
        log.close()
        pytest.fail(
            f"{executable} did not start with TLS on port {port} ({exc}). When its output "
            f"below says TLS is missing ('Bad directive' for a --tls-* option on Redis, "
            f"'Failed finding TLS support' on Valkey), the binary was built without TLS; "
            f"rqjobs promises rediss://, so that is a failure, not a skip. Its output:\n"
            f"{log_path.read_text()}"
        )
    finally:
        log.close()
    return executor, TlsServer(port=port, ca=certs.ca, password=password)


@pytest.fixture(scope="module")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls-certs"))


@pytest.fixture(scope="module")
def tls_server(  # type: ignore[no-untyped-def]
    redis_proc, tls_certs: Certs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsServer]:
    """TLS-only server without a password."""
    executor, server = start_tls_server(
        redis_proc.executable, tls_certs, tmp_path_factory.mktemp("tls-redis"), None
    )
    yield server
    executor.stop()


@pytest.fixture(scope="module")
def tls_server_pw(  # type: ignore[no-untyped-def]
    redis_proc, tls_certs: Certs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsServer]:
    """TLS-only server with ``--requirepass``."""
    executor, server = start_tls_server(
        redis_proc.executable, tls_certs, tmp_path_factory.mktemp("tls-redis-pw"), PASSWORD
    )
    yield server
    executor.stop()


@pytest.fixture
def use_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[UseUrl]:
    """``use_url(url)`` points rqjobs at ``url``; REDIS_URL and rqjobs's clients are reset after."""
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER", "RQJOBS_RETRIES"):
        monkeypatch.delenv(name, raising=False)

    def use(url: str) -> None:
        monkeypatch.setenv("REDIS_URL", url)
        rqjobs.reset_redis()

    yield use
    rqjobs.reset_redis()


def _clean(server: TlsServer) -> None:
    client = server.client()
    client.flushall()
    client.close()


def _full_text(exc: BaseException) -> str:
    """Message, repr and the whole chained traceback of ``exc``."""
    return "\n".join(
        [str(exc), repr(exc), *traceback.format_exception(type(exc), exc, exc.__traceback__)]
    )


def _exercise(server: TlsServer, prefix: str) -> None:
    """ping, enqueue, dedupe twice, stats, counters, health: all over TLS."""
    client = rqjobs.get_redis()
    assert client.ping() is True
    assert client.connection_pool.connection_class is redis.SSLConnection
    assert client.connection_pool.connection_kwargs["ssl_ca_certs"] == str(server.ca)

    job = rqjobs.enqueue(QUEUE, "runtime_jobs.record", f"{prefix}-plain")
    assert client.lrange(f"rq:queue:{QUEUE}", 0, -1) == [job.id.encode()]

    key = f"webhook:tls:{prefix}"
    first = rqjobs.enqueue_with_dedupe(
        QUEUE, "runtime_jobs.record", f"{prefix}-dedupe", dedupe_key=key
    )
    second = rqjobs.enqueue_with_dedupe(
        QUEUE, "runtime_jobs.record", f"{prefix}-dedupe", dedupe_key=key
    )
    assert first is not None
    assert second is None
    assert first.id == rqjobs.generate_deterministic_job_id(key)
    assert 0 < client.ttl(f"job_lock:{key}") <= 600
    assert Job.fetch(first.id, connection=client).meta["dedupe_key"] == key

    stats = rqjobs.get_queue_stats([QUEUE])
    assert stats[QUEUE]["queued"] == 2
    assert stats[QUEUE]["finished"] == 0
    assert rqjobs.get_counters()["dedupe_hits"] == {QUEUE: 1}

    code, body = rqjobs.health_report([QUEUE], require_scheduler=False)
    assert code == 200, body
    assert body["queues"][QUEUE]["queued"] == 2


def test_rediss_url_ping_enqueue_dedupe_stats(tls_server: TlsServer, use_url: UseUrl) -> None:
    _clean(tls_server)
    use_url(tls_server.url())
    _exercise(tls_server, "nopw")


def test_rediss_checks_the_certificate_names_the_host(
    tls_server: TlsServer, use_url: UseUrl
) -> None:
    _clean(tls_server)
    use_url(tls_server.url("localhost"))
    assert rqjobs.get_redis().ping() is True
    assert rqjobs.enqueue(QUEUE, "runtime_jobs.record", "localhost").id
    # The server also listens on 127.0.0.2, which the certificate does not name.
    use_url(tls_server.url("127.0.0.2"))
    with pytest.raises(RedisUnavailable, match="(?i)certificate verify failed.*mismatch"):
        rqjobs.enqueue(QUEUE, "runtime_jobs.record", "wrong-name")


def test_server_has_no_plain_port(tls_server: TlsServer) -> None:
    """The fixture's server is TLS only: a plain redis:// client on the same port fails."""
    plain = redis.Redis(
        host="127.0.0.1", port=tls_server.port, socket_timeout=2, retry=Retry(NoBackoff(), 0)
    )
    with pytest.raises(redis.exceptions.ConnectionError):
        plain.ping()
    plain.close()


def test_jobs_enqueued_over_tls_run_in_a_worker_over_tls(
    tls_server: TlsServer, use_url: UseUrl
) -> None:
    _clean(tls_server)
    url = tls_server.url()
    use_url(url)
    rqjobs.enqueue(QUEUE, "runtime_jobs.record", "worker-plain")
    assert rqjobs.enqueue_with_dedupe(
        QUEUE, "runtime_jobs.record", "worker-dedupe", dedupe_key="tls:w:1"
    )
    done = run_worker(url, [QUEUE], simple=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = rqjobs.get_redis().hgetall("rqjobs-test:runs")
    assert runs == {b"worker-plain": b"1", b"worker-dedupe": b"1"}
    assert rqjobs.get_queue_stats([QUEUE])[QUEUE]["finished"] == 2


def test_password_url_works_and_never_shows_the_password(
    tls_server_pw: TlsServer, use_url: UseUrl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _clean(tls_server_pw)
    url = tls_server_pw.url()
    use_url(url)
    _exercise(tls_server_pw, "pw")
    redacted = rqjobs.redact_url(url)
    assert PASSWORD not in redacted
    assert redacted.startswith(f"rediss://:***@127.0.0.1:{tls_server_pw.port}/0?")
    assert "ssl_ca_certs=" in redacted and "ssl_cert_reqs=required" in redacted
    assert PASSWORD not in caplog.text


def test_wrong_password_is_a_clear_redacted_error(
    tls_server_pw: TlsServer, use_url: UseUrl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _clean(tls_server_pw)
    wrong = "wrong-" + PASSWORD
    use_url(tls_server_pw.url(password=wrong))
    with pytest.raises(RedisUnavailable) as info:
        rqjobs.enqueue(QUEUE, "runtime_jobs.record", "wrong-password")
    text = _full_text(info.value)
    assert "AuthenticationError" in str(info.value)
    assert f"rediss://:***@127.0.0.1:{tls_server_pw.port}/0" in str(info.value)
    assert wrong not in text and PASSWORD not in text
    code, body = rqjobs.health_report([QUEUE], require_scheduler=False)
    assert code == 503
    assert wrong not in str(body)
    assert wrong not in caplog.text
    # Nothing was written.
    client = tls_server_pw.client()
    assert client.dbsize() == 0
    client.close()


def test_without_the_ca_it_fails_fast_with_a_clear_error(
    tls_server_pw: TlsServer, use_url: UseUrl, caplog: pytest.LogCaptureFixture
) -> None:
    """ssl_cert_reqs=required and no ssl_ca_certs: the self-made CA is not trusted."""
    caplog.set_level(logging.DEBUG)
    _clean(tls_server_pw)
    use_url(tls_server_pw.url(ca=False))
    started = time.monotonic()

    with pytest.raises(RedisUnavailable) as info:
        rqjobs.enqueue(QUEUE, "runtime_jobs.record", "no-ca")
    message = str(info.value)
    assert "certificate verify failed" in message.lower(), message
    assert f"Redis at rediss://:***@127.0.0.1:{tls_server_pw.port}/0" in message
    assert isinstance(info.value, redis.exceptions.ConnectionError)
    assert PASSWORD not in _full_text(info.value)

    with pytest.raises(RedisUnavailable) as dedupe_info:
        rqjobs.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "no-ca", dedupe_key="tls:no-ca")
    assert PASSWORD not in _full_text(dedupe_info.value)
    with pytest.raises(RedisUnavailable):
        rqjobs.get_queue_stats([QUEUE])
    with pytest.raises(redis.exceptions.ConnectionError, match="(?i)certificate verify failed"):
        rqjobs.get_redis().ping()
    code, body = rqjobs.health_report([QUEUE], require_scheduler=False)
    assert code == 503
    assert "certificate verify failed" in body["error"].lower()
    assert PASSWORD not in str(body)

    elapsed = time.monotonic() - started
    assert elapsed < 10, f"failing TLS verification took {elapsed:.1f} s"
    assert PASSWORD not in caplog.text
    # Nothing reached the server: no lock, no job.
    client = tls_server_pw.client()
    assert client.exists("job_lock:tls:no-ca") == 0
    assert client.llen(f"rq:queue:{QUEUE}") == 0
    client.close()


def test_ssl_password_in_the_url_is_redacted_too(tls_server: TlsServer, use_url: UseUrl) -> None:
    passphrase = "key-passphrase-" + secrets.token_hex(4)
    url = f"{tls_server.url(ca=False)}&ssl_password={passphrase}"
    use_url(url)
    # redis-py does read it from the URL: it is a secret carried by REDIS_URL.
    if rqjobs.get_redis().connection_pool.connection_kwargs.get("ssl_password") != passphrase:
        pytest.fail("redis-py no longer takes ssl_password from the URL")
    with pytest.raises(RedisUnavailable) as info:
        rqjobs.enqueue(QUEUE, "runtime_jobs.record", "ssl-password")
    assert passphrase not in rqjobs.redact_url(url)
    assert passphrase not in str(info.value)
