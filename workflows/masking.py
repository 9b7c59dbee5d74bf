"""Masking personal data for staff who need to recognise a contact, not reach it: petition
listings (contacts) and the evaluation panel's sampled replies (contacts, and the free text)."""

from __future__ import annotations

import re


def mask_phone(phone: str | None) -> str | None:
    """13800001234 → 138****1234: enough to recognise, not enough to call."""
    if not phone:
        return phone
    digits = phone.replace(" ", "").replace("-", "")
    keep_head, keep_tail = (3, 4) if len(digits) >= 9 else (1, 2)
    return digits[:keep_head] + "*" * max(len(digits) - keep_head - keep_tail, 1) + digits[-keep_tail:]


def mask_name(name: str | None) -> str | None:
    """张三 → 张*; a one-character name is masked whole."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_email(email: str | None) -> str | None:
    """alice@example.com → a***@example.com."""
    if not email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_text(text: str | None) -> str | None:
    """Free text with the mobile numbers and e-mail addresses in it masked."""
    if not text:
        return text
    return EMAIL.sub(lambda m: mask_email(m.group()), MOBILE.sub(lambda m: mask_phone(m.group()), text))
