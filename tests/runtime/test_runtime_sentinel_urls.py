"""``redis+sentinel://`` URLs: every documented form, and one clear line for bad ones.

No server is needed: parsing and building a client connect to nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import rqjobs
from rqjobs.connection import DeadlineRetry, redact_url
from rqjobs.errors import ConfigurationError
from rqjobs.sentinel import is_sentinel_url, parse_sentinel_url, sentinel_url_from_config


@pytest.mark.parametrize(
    ("url", "sentinels", "service", "db"),
    [
        ("redis+sentinel://h1:26379,h2:26380,h3:26381/mymaster", 3, "mymaster", 0),
        ("redis+sentinel://h1,h2/mymaster/2", 2, "mymaster", 2),
        ("redis+sentinel://h1:26379/mymaster/", 1, "mymaster", 0),
        ("redis+sentinel://h1:26379/mymaster/5/", 1, "mymaster", 5),
        ("redis+sentinel://h1:26379/mymaster?db=3", 1, "mymaster", 3),
        ("redis+sentinel://[::1]:26379,[::1]/my-master", 2, "my-master", 0),
        ("REDIS+SENTINEL://h1/m", 1, "m", 0),
    ],
)
def test_documented_forms(url: str, sentinels: int, service: str, db: int) -> None:
    assert is_sentinel_url(url)
    config = parse_sentinel_url(url)
    assert len(config.sentinels) == sentinels
    assert config.service_name == service
    assert config.db == db
    assert all(port > 0 for _, port in config.sentinels)


def test_default_port_and_ipv6() -> None:
    config = parse_sentinel_url("redis+sentinel://a,[::1],b:1234/m")
    assert config.sentinels == [("a", 26379), ("::1", 26379), ("b", 1234)]


def test_passwords_users_and_options() -> None:
    config = parse_sentinel_url(
        "redis+sentinel://:s3cret@h1:26379,h2:26379/mymaster/1"
        "?sentinel_password=sentpw&sentinel_username=sentuser&socket_timeout=0.5"
        "&sentinel_socket_timeout=0.2&min_other_sentinels=1&client_name=app"
    )
    assert config.password == "s3cret" and config.username is None
    assert config.sentinel_password == "sentpw" and config.sentinel_username == "sentuser"
    assert config.options == {"socket_timeout": 0.5, "client_name": "app"}
    assert config.sentinel_options == {"socket_timeout": 0.2}
    assert config.min_other_sentinels == 1
    acl = parse_sentinel_url("redis+sentinel://app:pw%40x@h1/m")
    assert (acl.username, acl.password) == ("app", "pw@x")
    only = parse_sentinel_url("redis+sentinel://secret@h1/m")
    assert (only.username, only.password) == (None, "secret")


def test_tls_forms() -> None:
    assert parse_sentinel_url("rediss+sentinel://h1/m").ssl
    assert parse_sentinel_url("rediss+sentinel://h1/m").sentinel_ssl
    mixed = parse_sentinel_url("redis+sentinel://h1/m?ssl=true&sentinel_ssl=false")
    assert mixed.ssl and not mixed.sentinel_ssl
    files = parse_sentinel_url(
        "rediss+sentinel://h1/m?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem"
        "&ssl_keyfile=/k.pem"
    )
    assert files.options["ssl_ca_certs"] == "/ca.pem"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("redis+sentinel:///mymaster", "no sentinel host"),
        ("redis+sentinel://h1:26379", "no service name"),
        ("redis+sentinel://h1:26379/", "no service name"),
        ("redis+sentinel://h1:port/m", "not a port number"),
        ("redis+sentinel://h1:0/m", "not a port number"),
        ("redis+sentinel://h1:70000/m", "not a port number"),
        ("redis+sentinel://h1,,h2/m", "empty sentinel address"),
        ("redis+sentinel://h1/m/x", "database 'x' is not a number"),
        ("redis+sentinel://h1/m/1/2", "unexpected path"),
        ("redis+sentinel://h1/m?bogus=1", "unknown option 'bogus'"),
        ("redis+sentinel://h1/m?socket_timeout=abc", "is not a number of seconds"),
        ("redis+sentinel://h1/m?socket_timeout=0", "must be positive"),
        ("redis+sentinel://h1/m?ssl=maybe", "is not a boolean"),
        ("redis+sentinel://h1/m?db=1&db=2", "given twice"),
        ("redis+sentinel://::1:26379/m", "in brackets"),
        ("redis+sentinel://[zz]:1/m", "IPv6 address"),
        ("redis+sentinel://h1/m?ssl_cert_reqs=sometimes", "ssl_cert_reqs"),
        ("redis+sentinel://h1/m#frag", "fragment"),
    ],
)
def test_bad_forms_give_one_clear_line(url: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_sentinel_url(url)
    message = str(info.value)
    assert why in message
    assert "\n" not in message
    assert "redis+sentinel://[:password@]host1:port1,host2:port2/service_name[/db]" in message


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:hunter2@h1:bad/m",
        "redis+sentinel://user:hunter2@h1/m?bogus=1",
        "redis+sentinel://h1/m/x?sentinel_password=hunter2",
        "redis+sentinel://hunter2@h1:26379",
    ],
)
def test_bad_forms_never_show_a_password(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_sentinel_url(url)
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)
    monkeypatch.setenv("REDIS_URL", url)
    rqjobs.reset_redis()
    with pytest.raises(ConfigurationError) as through_get_redis:
        rqjobs.get_redis()
    assert "hunter2" not in str(through_get_redis.value)
    rqjobs.reset_redis()


def test_redact_sentinel_urls() -> None:
    assert (
        redact_url("redis+sentinel://:pw@h1:1,h2:2/m/0?sentinel_password=spw")
        == "redis+sentinel://:***@h1:1,h2:2/m/0?sentinel_password=***"
    )


def test_get_redis_builds_a_sentinel_client_without_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/svc/3")
    rqjobs.reset_redis()
    try:
        client = rqjobs.get_redis()
        assert client is rqjobs.get_redis()
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["db"] == 3 and kwargs["password"] == "pw"
        assert isinstance(kwargs["retry"], DeadlineRetry)
        assert kwargs["socket_timeout"] == 3.0 and kwargs["socket_connect_timeout"] == 2.0
        assert client.rqjobs_url == "redis+sentinel://:***@127.0.0.1:1,127.0.0.1:2/svc/3"
        sentinels = client.rqjobs_sentinel.sentinels
        assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [1, 2]
        # The sentinels: timeouts capped at 1 s, no password (the URL's is the data nodes').
        first = sentinels[0].connection_pool.connection_kwargs
        assert first["socket_timeout"] == 1.0 and first.get("password") is None
        # A URL option overrides the runtime default; the retry budgets the final timeouts.
        monkeypatch.setenv("REDIS_URL", "redis+sentinel://127.0.0.1:1/svc?socket_timeout=0.25")
        tuned = rqjobs.get_redis().connection_pool.connection_kwargs
        assert tuned["socket_timeout"] == 0.25
        assert tuned["retry"].attempt_cost == pytest.approx(2.25)
    finally:
        rqjobs.reset_redis()


def test_rq_sentinel_settings_dict() -> None:
    url = sentinel_url_from_config(
        {
            "INSTANCES": [("10.0.0.1", 26379), ("10.0.0.2", 26380)],
            "MASTER_NAME": "jobs",
            "DB": 2,
            "PASSWORD": "p@ss",
            "SOCKET_TIMEOUT": 0.5,
            "SENTINEL_KWARGS": {"password": "sp"},
        }
    )
    config = parse_sentinel_url(url)
    assert config.sentinels == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert (config.service_name, config.db, config.password) == ("jobs", 2, "p@ss")
    assert config.sentinel_password == "sp" and config.options["socket_timeout"] == 0.5
    assert sentinel_url_from_config({}).startswith("redis+sentinel://localhost:26379/mymaster/0")
    with pytest.raises(ConfigurationError, match="SENTINEL_KWARGS"):
        sentinel_url_from_config({"SENTINEL_KWARGS": {"retry": 1}})
    with pytest.raises(ConfigurationError, match="INSTANCES"):
        sentinel_url_from_config({"INSTANCES": ["nohost"]})


def test_cli_config_module_sets_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rqjobs.cli import main

    (tmp_path / "rq_settings_bad.py").write_text(
        "SENTINEL = {'INSTANCES': [('h', 'x')], 'PASSWORD': 'hunter2'}\n"
    )
    (tmp_path / "rq_settings_none.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("SERVICE_ROLE", raising=False)
    assert main(["-c", "rq_settings_none", "role"]) == 2
    assert "neither REDIS_URL nor SENTINEL" in capsys.readouterr().err
    assert main(["-c", "rq_settings_bad", "role"]) == 2
    err = capsys.readouterr().err
    assert "INSTANCES" in err and "hunter2" not in err
    assert main(["-c", "no_such_settings_module", "role"]) == 2
    assert sys.modules.get("no_such_settings_module") is None
