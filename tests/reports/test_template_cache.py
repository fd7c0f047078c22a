"""The compiled-template cache (reports/jinja_env.py) is keyed by how the environment calls its
filters: Jinja decides that when it compiles, so code compiled for an older call must not run."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from reports.jinja_env import bytecode_cache


def _env(templates: Path, shout: Any) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)))
    env.filters["shout"] = shout
    env.bytecode_cache = bytecode_cache(env)
    return env


def test_a_filter_called_differently_gets_its_own_compiled_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEDAY_CACHE_DIR", str(tmp_path / "cache"))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "x.j2").write_text("{{ 'a' | shout }}", encoding="utf-8")

    def plain(value: str) -> str:
        return value.upper()

    @jinja2.pass_environment
    def with_environment(env: jinja2.Environment, value: str) -> str:
        return value.upper() + "!"

    assert _env(templates, plain).get_template("x.j2").render() == "A"
    # A fresh environment reads the compiled code from the cache folder; had it found the code
    # compiled for plain(value), with_environment would be called without its environment.
    assert _env(templates, with_environment).get_template("x.j2").render() == "A!"
    assert _env(templates, plain).get_template("x.j2").render() == "A"
    folders = sorted(p for p in (tmp_path / "cache" / "jinja").iterdir())
    assert len(folders) == 2 and all(any(f.iterdir()) for f in folders)  # each call's code, cached
