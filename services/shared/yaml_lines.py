"""YAML loading that keeps line numbers, so validation errors can say "file:line: ..."."""
from __future__ import annotations

from typing import Any

import yaml


class _Mapping(dict):
    """A YAML mapping that remembers its start line and the line of each key."""

    line: int | None = None
    key_lines: dict


class _Sequence(list):
    """A YAML sequence that remembers its start line and the line of each item."""

    line: int | None = None
    item_lines: list


class LineLoader(yaml.SafeLoader):
    """SafeLoader that records node start lines and refuses duplicate keys."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode):
    data = _Mapping()
    data.line, data.key_lines = node.start_mark.line + 1, {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        if key in data:
            # PyYAML would silently keep the last value; a duplicated field is almost always a mistake.
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {data.key_lines[key]}); keep only one",
                key_node.start_mark,
            )
        data[key] = loader.construct_object(value_node)
        data.key_lines[key] = key_node.start_mark.line + 1


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode):
    data = _Sequence()
    data.line, data.item_lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
    yield data
    data.extend(loader.construct_sequence(node))


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml_with_lines(text: str) -> Any:
    """Parse YAML safely; mappings and sequences remember their lines; raises yaml.YAMLError."""
    return yaml.load(text, Loader=LineLoader)  # noqa: S506 - LineLoader is a SafeLoader


def line_of(obj: Any, key: Any = None) -> int | None:
    """The line of `key` inside a loaded mapping, else of the mapping itself (None for plain dicts)."""
    if key is not None and key in getattr(obj, "key_lines", {}):
        return obj.key_lines[key]
    return getattr(obj, "line", None)


def item_line(items: list, index: int, fallback: int | None = None) -> int | None:
    """The line of item `index` of a loaded sequence, else `fallback`."""
    lines = getattr(items, "item_lines", None)
    return lines[index] if lines and index < len(lines) else fallback
