from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "terraform-plans"
MALFORMED = {"terraform-json/invalid.plan.json"}


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*/*.json"))


def valid_corpus_files() -> list[Path]:
    return [p for p in corpus_files() if p.relative_to(CORPUS).as_posix() not in MALFORMED]


@pytest.fixture
def corpus() -> Path:
    return CORPUS
