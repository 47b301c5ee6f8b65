"""datafiles.py — the one loader for Kinfold's data files: YAML read safely and validated by a pydantic model,
so that a state can adapt the role table, the consent templates and, later, pathways, instruments and
taxonomies without code. Every error names the file, the line and the field. It never writes anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class DataFileError(Exception):
    """A data file that cannot be read or does not follow its schema; the message says where and why."""


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at pydantic location ``loc`` (the deepest part of it that exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def load_data_file(path: Path, schema: type[M], *, what: str, error: type[Exception] = DataFileError) -> M:
    """``path`` validated as ``schema``; any problem raises ``error`` naming the file, each line and field.

    ``what`` names the file in plain words for the message ("the role table")."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read {what}: {exc}") from exc
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            where = ".".join(str(p) for p in loc) or "(top)"
            problems.append(f"line {line_of(root, loc)}, {where}: {e['msg']}")
        raise error(f"{path}: " + "; ".join(problems)) from exc
