"""The preflight check registry, modelled on Django's system checks.

A check is a function ``(ctx) -> list[CheckResult]`` registered with ``@register``. Every
result has a stable id (``secrets.E001``), a level, a message and a hint. Checks run
concurrently (network probes above all), each bounded by its timeout, so a precheck with
two unreachable brokers takes about one timeout, not the sum (see ``runner``).

As in Django, ``registry`` is the one default ``CheckRegistry`` and the module-level
``register``, ``run_checks``, ``tag_exists`` and ``tags_available`` are its methods; a test
can build its own registry and leave the default one alone.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from session.checks.results import PrecheckReport
from session.checks.runner import CheckFunc, CheckSpec, ConcurrentRun, Timeout

if TYPE_CHECKING:
    from session.checks.context import CheckContext

__all__ = ["CheckFunc", "CheckRegistry", "CheckSpec", "REGISTRY", "register", "registry", "run_checks",
           "tag_exists", "tags_available"]


class CheckRegistry:
    """Checks by name, in registration order (which is also the order of their results)."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckSpec] = {}

    def register(self, name: str, *, tags: Iterable[str] = (), depends: Iterable[str] = (),
                 timeout: Timeout = None) -> Callable[[CheckFunc], CheckFunc]:
        """Register a check. ``timeout`` (seconds, or a function of the context) bounds it;
        None means ``checks.timeout`` from the config. ``depends`` names checks whose results
        (and facts) this one needs; a dependency that is not run is simply not waited for.
        ``tags`` group checks for ``precheck --tag``. Registering a name again replaces the
        check in its place."""

        def deco(func: CheckFunc) -> CheckFunc:
            self._checks[name] = CheckSpec(name, func, tuple(tags), tuple(depends), timeout)
            return func

        return deco

    # ---------------------------------------------------------------- what is registered
    def __contains__(self, name: object) -> bool:
        return name in self._checks

    def __iter__(self) -> Iterator[str]:
        return iter(self._checks)

    def __len__(self) -> int:
        return len(self._checks)

    def __getitem__(self, name: str) -> CheckSpec:
        return self._checks[name]

    def names(self) -> list[str]:
        return list(self._checks)

    def get_checks(self) -> list[CheckSpec]:
        return list(self._checks.values())

    def tags_available(self) -> list[str]:
        """Every tag some check declares, sorted."""
        return sorted({tag for spec in self._checks.values() for tag in spec.tags})

    def tag_exists(self, tag: str) -> bool:
        return any(tag in spec.tags for spec in self._checks.values())

    # ---------------------------------------------------------------- selecting and running
    def select(self, *, only: Iterable[str] = (), skip: Iterable[str] = (), tags: Iterable[str] = (),
               disabled: Iterable[str] = ()) -> list[CheckSpec]:
        """The checks to run, in registration order. Each filter narrows: ``only`` names,
        ``tags`` (a check with any of them), minus ``skip`` and ``disabled`` (the config's
        ``checks.disable``). An unknown name in ``only``/``skip`` or an unknown tag is a
        UsageError (exit 2)."""
        from core.errors import UsageError

        only, skip, tags = list(only), list(skip), list(tags)
        unknown = [n for n in [*only, *skip] if n not in self._checks]
        if unknown:
            raise UsageError(f"unknown check '{unknown[0]}'", hint=f"checks are: {', '.join(self._checks)}")
        unknown_tags = [t for t in tags if not self.tag_exists(t)]
        if unknown_tags:
            raise UsageError(f"unknown check tag '{unknown_tags[0]}'",
                             hint=f"tags are: {', '.join(self.tags_available())}")
        left_out = set(disabled) | set(skip)
        return [s for s in self._checks.values()
                if (not only or s.name in only)
                and (not tags or not set(s.tags).isdisjoint(tags))
                and s.name not in left_out]

    def run_checks(self, ctx: CheckContext, *, only: Iterable[str] = (), skip: Iterable[str] = (),
                   tags: Iterable[str] = (), strict: bool = False) -> PrecheckReport:
        """Run the selected checks concurrently and collect their results in registry order;
        result ids in ``checks.silence`` are marked silenced (shown, never failing)."""
        selected = self.select(only=only, skip=skip, tags=tags, disabled=ctx.config.checks.disable)
        by_check = ConcurrentRun(selected, ctx).results()
        silenced = set(ctx.config.checks.silence)
        results = []
        for spec in selected:
            for r in by_check.get(spec.name, []):
                r.silenced = r.id in silenced
                results.append(r)
        return PrecheckReport(mode=ctx.mode, session=ctx.today.to_json(), results=results, strict=strict)


registry = CheckRegistry()
# The default registry under its old name: code written against the dict can still
# iterate it, test membership and look checks up by name.
REGISTRY = registry
register = registry.register
run_checks = registry.run_checks
tag_exists = registry.tag_exists
tags_available = registry.tags_available
