"""Fixtures of the text tests."""

from __future__ import annotations

import pytest

from tests.workflows.text.crafted import corpus


@pytest.fixture
def crafted():
    return corpus()
