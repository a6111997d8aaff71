"""Every YAML the analyzer reads: safe types, timestamps as written, aliases within a budget."""

from __future__ import annotations

import pytest
import yaml

from forensics.read import yamlsafe


def _laughs(levels: int, width: int = 10) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_as_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError, match="alias bomb"):
        yamlsafe.load(_laughs(9))
    with pytest.raises(yamlsafe.AliasBomb):
        yamlsafe.load_all("---\nkind: Pod\n---\n" + _laughs(9))


def test_ordinary_anchors_and_aliases_still_load() -> None:
    doc = yamlsafe.load(_laughs(3))  # 1,000 nodes expanded: a hand-written file may share blocks
    assert len(doc["l2"]) == 10 and doc["l2"][0][0] == ["lol"] * 10


def test_recursive_alias_does_not_hang() -> None:
    doc = yamlsafe.load("a: &a [1, *a]\n")
    assert doc["a"][0] == 1


def test_timestamps_stay_strings_for_object_lists_only() -> None:
    assert yamlsafe.load_all("t: 2024-01-02T03:04:05Z\n") == [{"t": "2024-01-02T03:04:05Z"}]
    assert not isinstance(yamlsafe.load("t: 2024-01-02T03:04:05Z\n")["t"], str)


def test_deep_nesting_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlsafe.load("[" * 100_000)


def test_deep_block_indentation_is_refused_before_parsing() -> None:
    text = "".join(" " * (2 * i) + "a:\n" for i in range(1500))
    with pytest.raises(yamlsafe.TooDeep):
        yamlsafe.load_all(text)


def test_brackets_inside_ordinary_documents_are_not_depth() -> None:
    text = "items:\n" + "".join(f"- {{name: n{i}, ports: [80, 443]}}\n" for i in range(2000))
    assert len(yamlsafe.load(text)["items"]) == 2000
