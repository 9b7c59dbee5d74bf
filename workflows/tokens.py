"""Secrets handed out once (citizens' access tokens, staff API tokens) are stored as hashes.

They are long random strings, not passwords, so a plain SHA-256 is enough: there is nothing
to guess, and a slow hash would cost every authenticated request.
"""

from __future__ import annotations

import hashlib
import hmac
import re


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def petitioner_pseudonym(phone: str | None, email: str | None, key: bytes) -> str | None:
    """A keyed hash of the citizen's contact, so hotspots can count distinct petitioners without
    keeping a second copy of the contact. Normalised first, so `138-0000 0000` and
    `+86 13800000000` are one person; the phone wins when both are given."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) > 11 and digits.startswith("86"):  # the country code of a mainland number
        digits = digits[2:]
    if digits:
        contact = "tel:" + digits
    elif email and email.strip():
        contact = "mailto:" + email.strip().lower()
    else:
        return None
    return hmac.new(key, contact.encode(), hashlib.sha256).hexdigest()
