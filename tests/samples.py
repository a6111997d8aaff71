"""The bundled sample stories, for the tests that analyze them: a format-v1 story is the dump itself;
a foreign-format story keeps its dump under `dump:` and, when it has them, the image inspections for
`--images` under `images:` (both named in its expected.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from forensics.read.formats import load_any
from forensics.read.load import Dump, load_dump

SAMPLES = Path(__file__).resolve().parent.parent / "sample_dumps"


def expected_of(name: str) -> dict[str, Any]:
    return yaml.safe_load((SAMPLES / name / "expected.yaml").read_text())


def load_story(name: str) -> Dump:
    path = SAMPLES / name
    expected = expected_of(name)
    if "dump" not in expected:
        return load_dump(path)
    images = path / expected["images"] if expected.get("images") else None
    return load_any(path / expected["dump"], images=images)
