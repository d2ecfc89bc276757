"""``X-Hub-Signature-256`` verification (HMAC-SHA256 over the raw body)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The header value GitHub would send for ``body``."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def is_valid_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Constant-time check of a signature header; a missing or malformed header is invalid.

    ``hmac.compare_digest`` refuses non-ASCII text with a ``TypeError``: such a header can
    never match a hex digest, so it is simply invalid (a 401 like any bad signature).
    """
    if not header or not header.isascii() or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.encode())
