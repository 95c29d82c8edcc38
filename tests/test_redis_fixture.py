"""The test server is real: it answers, keeps TTLs and runs WATCH/MULTI."""

import pytest


@pytest.mark.smoke
def test_server_is_real(redis_conn) -> None:
    info = redis_conn.info("server")
    assert info["tcp_port"] > 0
    redis_conn.set("k", "v", ex=100)
    assert 0 < redis_conn.ttl("k") <= 100
    with redis_conn.pipeline() as pipe:
        pipe.watch("k")
        pipe.multi()
        pipe.set("k", "w")
        assert pipe.execute() == [True]
    assert redis_conn.get("k") == b"w"
