"""YAML with line numbers: every mapping of a policy (or cases) document remembers where it and
each of its keys and values start, so that every problem can name its line.

    doc = parse_yaml(text, "policies/x.yaml")   # a LineMap (or whatever the YAML's top is)
    doc.line, doc.key_lines["clauses"], doc.value_starts["condition"]

Safe loading only (yaml.SafeLoader). A key written twice in one mapping, or text that is not
YAML, raises PolicyError with the line. Pure: no Django.
"""

from __future__ import annotations

from typing import Any

import yaml

from refunddesk.policies.errors import PolicyError, Problem

__all__ = ["LineMap", "parse_yaml"]


class LineMap(dict):
    """A YAML mapping that remembers where it and each of its values start (1-based lines)."""

    line: int = 0
    key_lines: dict[str, int]
    value_starts: dict[str, tuple[int, str | None]]  # key -> (line of the value, scalar style such as "|")


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int):
        self.key, self.line = key, line


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    out = LineMap()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.value_starts = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, int | float) and not isinstance(key, bool):
            key = str(key)
        if key in out:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
        style = getattr(value_node, "style", None)
        out.value_starts[key] = (value_node.start_mark.line + 1, style)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def parse_yaml(text: str, source: str) -> Any:
    """Parse `text` (named `source` in messages); mappings come back as LineMap.

    Raises PolicyError (with the line) for invalid YAML or a key that appears twice."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except _DuplicateKey as exc:
        raise PolicyError([Problem(exc.line, None, f"the key '{exc.key}' appears twice")], source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PolicyError([Problem(line, None, f"not valid YAML: {exc.problem or exc}")], source) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(None, None, f"not valid YAML: {exc}")], source) from None
