"""pydantic's validation errors as ``file:line key.path: what is wrong`` messages."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from core.suggest import did_you_mean
from session.config.models import TradedayConfig
from session.validation import Loc, collapse_unions, error_parts, loc_text
from session.yamlsource import YamlSource


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class at a key path, to suggest field names for unknown keys."""
    model: Any = TradedayConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        model = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            for inner in (cand, *getattr(cand, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    model = inner
                    break
            if model:
                break
    return model


def _document_loc(loc: Loc, data: Any) -> Loc:
    """Drop path parts pydantic adds that are not in the file (a union's tag, e.g. the
    ``slack`` in ``channels[0].slack.webhook_url``); the last part always stays."""
    kept: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            kept.append(part)
            node = node[part]
        elif last or not isinstance(node, (dict, list)):
            kept.append(part)
    return tuple(kept)


def _suggestion(name: str, candidates: list[str]) -> str:
    suggestion = did_you_mean(name, candidates)
    return f" ({suggestion})" if suggestion else ""


def validation_messages(exc: ValidationError, source: YamlSource) -> list[str]:
    lines = []
    for err in collapse_unions([dict(e) for e in exc.errors()], source.data):
        raw_loc, text, _hint = error_parts(err)
        loc = _document_loc(raw_loc, source.data)
        if err.get("type") == "extra_forbidden" and loc:
            parent = _model_at(loc[:-1])
            if parent is not None:
                text += _suggestion(str(loc[-1]), list(parent.model_fields))
        where = loc_text(loc)
        lines.append(source.locate(loc, f"{where}: {text}" if where else text))
    return lines
