"""YAML parsing that remembers where every value came from, for errors with file:line:column."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: `on:`, `yes` and `off` stay strings (YAML 1.1 would make `on` True)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, at a place in it."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class YamlSourceError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class YamlSource:
    """Parsed data plus the position of each value, keyed by its path of keys and indexes."""

    file: str
    data: Any
    positions: dict[Path, tuple[int, int]]

    def problem(self, path: Path, message: str) -> Problem:
        """A problem at `path`, or at its closest ancestor that has a position."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.positions:
                line, column = self.positions[path[:end]]
                return Problem(self.file, line, column, message)
        return Problem(self.file, 1, 1, message)


def parse_yaml(text: str, file: str) -> YamlSource:
    """Parse `text`; raises `YamlSourceError` on syntax errors and duplicate keys."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSourceError([Problem(file, line, column, f"YAML: {exc.problem}")]) from exc
    positions: dict[Path, tuple[int, int]] = {}
    duplicates: list[Problem] = []
    if node is not None:
        _walk(node, (), positions, duplicates, file)
    if duplicates:
        raise YamlSourceError(duplicates)
    return YamlSource(file, data, positions)


def _walk(
    node: yaml.Node,
    path: Path,
    positions: dict[Path, tuple[int, int]],
    duplicates: list[Problem],
    file: str,
) -> None:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                duplicates.append(Problem(file, line, column, f"duplicate key {key!r}"))
                continue
            seen.add(key)
            _walk(value_node, (*path, key), positions, duplicates, file)
            # Point errors about a key at the key itself, not at its value.
            positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions, duplicates, file)


def pydantic_problems(
    source: YamlSource, error: ValidationError, prefix: Path = ()
) -> list[Problem]:
    """Turn pydantic's errors into positioned problems."""
    return [
        source.problem(
            (*prefix, *e["loc"]), f"{'.'.join(map(str, (*prefix, *e['loc'])))}: {e['msg']}"
        )
        for e in error.errors()
    ]
