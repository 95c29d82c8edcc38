"""A hand-rolled lock helper (SET NX EX)."""


def acquire_lock(conn, key, ttl):
    return bool(conn.set(key, "1", nx=True, ex=ttl))


def release_lock(conn, key):
    conn.delete(key)
