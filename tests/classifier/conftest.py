"""Fixtures for the classifier tests (issue 3)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def clf():
    from core.classifier import default_classifier

    return default_classifier()
