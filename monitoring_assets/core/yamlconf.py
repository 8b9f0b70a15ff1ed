"""Load YAML into pydantic models with errors that name the file, key and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is unreadable or invalid; the message names file, key and line."""


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path in a composed YAML node tree to its 1-based line number."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _line_map(item, path + (i,), out)
    return out


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """One parse gives both the node tree (for line numbers) and the data."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> tuple[Any, dict[tuple, int]]:
    """Parse a YAML file; return the data and a map from key path to line number."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file ({exc.strerror})") from exc
    try:
        node, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML: {exc}") from exc
    lines = _line_map(node) if node is not None else {}
    return data, lines


def _nearest_line(loc: tuple, lines: dict[tuple, int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _key_part(part: Any) -> str:
    # A mapping key is user data (possibly megabytes, or with newlines): show it safely.
    text = str(part)
    if text.isprintable() and len(text) <= 60:
        return text
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:50] + "…"


def validation_message(path: Path, exc: ValidationError, lines: dict[tuple, int]) -> str:
    """Render a pydantic ValidationError as 'file:line: key: what was expected' lines."""
    parts = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = _nearest_line(loc, lines)
        key = ".".join(_key_part(p) for p in loc) or "<root>"
        where = f"{path}:{line}" if line else str(path)
        parts.append(f"{where}: {key}: {err['msg']}")
    return "invalid configuration\n  " + "\n  ".join(parts)


def load_model(path: str | Path, model: type[M]) -> M:
    """Read `path` and validate it as `model`, raising ConfigError naming file, key and line."""
    path = Path(path)
    data, lines = read_yaml(path)
    if data is None:
        raise ConfigError(f"{path}: configuration file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc, lines)) from None
