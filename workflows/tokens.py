"""Secrets handed out once (citizens' access tokens, staff API tokens) are stored as hashes.

They are long random strings, not passwords, so a plain SHA-256 is enough: there is nothing
to guess, and a slow hash would cost every authenticated request.
"""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
