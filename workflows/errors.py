"""The petition domain's errors: one base class, narrow subclasses carrying the ids involved."""

from __future__ import annotations


class PetitionError(Exception):
    """Base class of everything the petition domain raises on purpose."""


class UnknownPetition(PetitionError):
    def __init__(self, key: object):
        self.key = key
        super().__init__(f"no petition {key}")


class UnknownDepartment(PetitionError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"no department {code!r}")


class InvalidForm(PetitionError):
    """Form data failed validation; `errors` maps each field to its messages."""

    def __init__(self, form: str, errors: dict):
        self.form, self.errors = form, errors
        super().__init__(f"{form}: {errors}")
