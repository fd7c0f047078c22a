"""Jinja templates shipped with tradeday (a package so wheels carry them)."""
