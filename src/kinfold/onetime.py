"""onetime.py — the bearer tokens of Kinfold's one-time links (a referral's answer link, a parent's screening link,
a staff invitation): 32 random bytes, URL-safe base64 without padding (43 characters), carrying nothing but
chance. Kinfold keeps only a token's SHA-256; the token itself is shown once. It never touches the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets

_TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 of a token, as a link's ``token_hash`` keeps it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: object) -> bool:
    """Whether ``token`` has a token's shape (anything else is refused before any lookup)."""
    return isinstance(token, str) and bool(_TOKEN_SHAPE.match(token))
