"""Jinja environments built once per process, with a faster ``a.b`` on dicts.

Compiling the daily template takes ~70 ms; a report range renders a template per day, so
``reports.render`` keeps one environment per (templates folder, kind) and Jinja's own
template cache does the rest (it still reloads a user's template when its file changes).

``{{ p.strategy }}`` on a dict: Jinja tries the attribute first and the key second, an
AttributeError per lookup; report templates do that a few thousand times per report. For a
name no dict has as an attribute (``strategy``, not ``items``), the key is what Jinja would
return anyway, so it is looked up first.
"""
from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

_DICT_ATTRIBUTES = frozenset(dir(dict))


def bytecode_cache(env: jinja2.Environment) -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the user's cache folder (core/cachedir.py), so a cold ``eod`` or
    ``report`` does not compile the daily templates again (~0.15 s of CPU); None when there is no
    private folder for it. Jinja keys each entry by the template's name and a hash of its source,
    so an edited template (the user's own included) is compiled afresh.

    What else the compiled code depends on is the environment's: how each filter is called
    (with the context or the environment, or not: Jinja decides when it compiles) and the
    options that shape the code. Entries live in a folder named by a hash of those, so a
    tradeday that calls a filter differently never runs a template compiled for the old call."""
    import jinja2

    from core.cachedir import private_subfolder

    shape = repr((
        sorted((name, str(getattr(f, "jinja_pass_arg", ""))) for name, f in env.filters.items()),
        sorted((name, str(getattr(f, "jinja_pass_arg", ""))) for name, f in env.tests.items()),
        bool(env.autoescape), env.finalize is not None, env.trim_blocks, env.lstrip_blocks,
        env.keep_trailing_newline, env.newline_sequence, jinja2.__version__,
    ))
    folder = private_subfolder(f"jinja/{hashlib.sha256(shape.encode()).hexdigest()[:16]}")
    return jinja2.FileSystemBytecodeCache(str(folder)) if folder is not None else None


@functools.cache
def environment_class() -> type[jinja2.Environment]:
    import jinja2

    class ReportEnvironment(jinja2.Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    return ReportEnvironment
