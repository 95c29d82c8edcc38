"""Deterministic, RQ-valid job ids.

RQ accepts only ``[A-Za-z0-9_-]`` in a job id and rejects ``:``. Replacing characters
would make ``a:b`` and ``a-b`` collide, so the id ends in a SHA-256 digest of the parts
and only starts with a readable, sanitised prefix. No ``hash()``: the id is the same in
every process, on every host and in every Python version.
"""

from __future__ import annotations

import hashlib
import json
import re

__all__ = ["generate_deterministic_job_id", "DIGEST_LENGTH", "PREFIX_LENGTH"]

DIGEST_LENGTH = 40  # hex characters (160 bits)
PREFIX_LENGTH = 48
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _text(part: object) -> str:
    if isinstance(part, bytes):
        return part.decode("utf-8", "surrogateescape")
    if isinstance(part, (str, int)) and not isinstance(part, bool):
        return str(part)
    raise TypeError(f"job id parts must be str, bytes or int, got {type(part).__name__}")


def generate_deterministic_job_id(*parts: object) -> str:
    """A stable job id for ``parts``: ``<readable-prefix>-<40 hex of SHA-256>``.

    ``generate_deterministic_job_id("webhook:baileys:ABC")`` ->
    ``"webhook-baileys-ABC-<digest>"``. Parts are joined unambiguously (``("a:b",)`` and
    ``("a", "b")`` give different ids). Raises ``ValueError`` without parts or with an
    empty part, ``TypeError`` for parts that are not str/bytes/int.
    """
    if not parts:
        raise ValueError("generate_deterministic_job_id() needs at least one part")
    if len(parts) == 1 and type(parts[0]) is str:
        text = parts[0]
        if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
            # What json.dumps([text], ensure_ascii=True, ...) gives for printable ASCII
            # without quotes or backslashes, without the encoder's cost.
            if not text.strip():
                raise ValueError(f"job id parts must not be empty or blank, got {[text]!r}")
            digest = hashlib.sha256(f'["{text}"]'.encode("ascii")).hexdigest()[:DIGEST_LENGTH]
            prefix = _UNSAFE.sub("-", text).strip("-")[:PREFIX_LENGTH].rstrip("-")
            return f"{prefix}-{digest}" if prefix else digest
    texts = [_text(part) for part in parts]
    for text in texts:
        if not text.strip():
            raise ValueError(f"job id parts must not be empty or blank, got {texts!r}")
    payload = json.dumps(texts, ensure_ascii=True, separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("ascii")).hexdigest()[:DIGEST_LENGTH]
    prefix = _UNSAFE.sub("-", "-".join(texts)).strip("-")[:PREFIX_LENGTH].rstrip("-")
    return f"{prefix}-{digest}" if prefix else digest
