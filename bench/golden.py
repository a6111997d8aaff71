"""Write the findings JSON (and Markdown) of every bundled dump, so a refactor can prove it changed nothing.

    python -m bench.golden OUT_DIR [EXTRA_DUMP ...]
    ... refactor ...
    python -m bench.golden OUT_DIR2 [EXTRA_DUMP ...] && diff -r OUT_DIR OUT_DIR2

Covers every sample story (format v1 and foreign formats, with their image inspections), the bundled
tarball, the kubectl ticket text and the real-dump fixtures under tests/fixtures/wild. Extra paths
(other real dumps) are analyzed as `forensics analyze` would read them. The output is deterministic:
two runs on the same code are byte-identical.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from forensics.analysis.analyze import analyze
from forensics.read.formats import load_any
from forensics.render.markdown import render_markdown
from tests.samples import SAMPLES, load_story

ROOT = Path(__file__).resolve().parent.parent


def _dumps(extra: list[str]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for exp in sorted(SAMPLES.glob("*/expected.yaml")):
        out.append((f"sample-{exp.parent.name}", lambda n=exp.parent.name: load_story(n)))
    for p in [
        SAMPLES / "graviton-new-pool.tar.gz",
        SAMPLES / "scheduling-ticket.txt",
        *sorted((ROOT / "tests" / "fixtures" / "wild").iterdir()),
        *map(Path, extra),
    ]:
        if p.is_dir() and len(files := [c for c in p.iterdir()]) == 1 and files[0].is_file():
            p = files[0]  # a folder holding one archive: the archive is the dump
        if p.name != "SOURCES.md" and p.exists():
            out.append((f"{p.parent.name}-{p.name}", lambda p=p: load_any(p)))
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, load in _dumps(argv[1:]):
        doc = analyze(load())  # type: ignore[operator]
        # the dump's own path differs between checkouts; nothing else may
        doc["dump"]["path"] = name
        (out / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")
        (out / f"{name}.md").write_text(render_markdown(doc))
        print(f"{name}: {len(doc['findings'])} findings, {len(doc['latent'])} latent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
