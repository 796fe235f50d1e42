"""Shared fixtures: the real instrument files and a reproducible RNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
# STS_SHARED_DATA points elsewhere when the checkout does not sit beside the shared folder
SHARED_DATA = Path(os.environ.get("STS_SHARED_DATA") or ROOT.parent / "shared" / "data")


def shared_file(relpath: str) -> Path:
    """Path of a real instrument file in ../shared/data, or skip the test with the reason."""
    p = SHARED_DATA / relpath
    if not p.is_file():
        pytest.skip(f"real instrument file {relpath} not available (../shared/data is absent)")
    return p


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
