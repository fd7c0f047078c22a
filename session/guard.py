"""The paper/live guard: a paper run never trades a live account, a live run never a paper one.

An invariant, not a check. The ``ibkr`` precheck reports what TWS says about the accounts,
and ``tradeday run`` calls :func:`enforce_paper_live_guard` on the precheck's report before
any engine starts, whatever ``checks.silence`` and ``checks.disable`` say:

- The guard ids (:data:`GUARD_IDS`) are the findings that prove the wrong kind of account.
  They are never marked silenced, and a config that names one in ``checks.silence`` or
  ``checks.disable`` (or disables ``guard``) is refused when it loads (exit 3, see
  :func:`refusal`).
- The findings that only mean "the kind could not be read" (:data:`SILENCEABLE_IDS`) are
  ordinary precheck results: they fail the run unless silenced.
- With ``ibkr`` in ``checks.disable`` (or not selected), the guard probes the accounts
  itself, with the same ``broker.ibkr.timeout``. If it cannot read them, that is
  ``guard.W001`` on paper and ``guard.E001`` live: unverified, an error in both modes (a
  "paper" engine could be trading a live account), silenceable to accept an unverified day.

Kite cannot tell: Kite Connect has no paper environment, and its profile
(``user_id``, ``user_type``, ``broker``, ``exchanges``, ``products``, ``order_types``)
says nothing about paper. A Kite "paper" run is the engine's promise (it gets
``TRADEDAY_MODE=paper``); the guard has nothing to read there.

This module stays light (the config models import :func:`refusal`): the probe and the
check results are imported inside the functions that need them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from session.brokers.ibkr import IbkrProbeResult
    from session.checks.results import CheckResult, PrecheckReport
    from session.config import TradedayConfig

# The ids that can never be silenced, and what each one means.
GUARD_IDS: dict[str, str] = {
    "ibkr.E004": "a paper config talking to a live IBKR account",
    "ibkr.E006": "a live config talking to a paper IBKR account",
    "ibkr.E009": "a default port of the other mode, with no account reported to prove otherwise",
}
# The account-kind findings that only mean "could not verify": ordinary, silenceable ids.
SILENCEABLE_IDS: dict[str, str] = {
    "ibkr.E007": "TWS/IB Gateway reported no managed accounts, so the kind could not be read",
    "ibkr.E008": "the port is a default port of the other mode, but the accounts prove the configured kind",
    "guard.W001": "paper run: the ibkr check did not probe (disabled, or it did not finish) and the guard "
                  "could not read the IBKR accounts",
    "guard.E001": "live run: the ibkr check did not probe (disabled, or it did not finish) and the guard "
                  "could not read the IBKR accounts",
}
# Names in checks.disable that would mean the guard itself.
GUARD_NAMES = ("guard", "paper_live")

_IBKR_FINDING_IDS = {
    "live_account": "ibkr.E004",
    "paper_account": "ibkr.E006",
    "no_accounts": "ibkr.E007",
    "port_mismatch": "ibkr.E008",
    "port_only_evidence": "ibkr.E009",
}
_IBKR_HINTS = {
    "ibkr.E004": "point broker.ibkr.port at the paper TWS/IB Gateway; the paper/live guard cannot be silenced",
    "ibkr.E006": "point broker.ibkr.port at the live TWS/IB Gateway, or run on paper; the paper/live guard "
                 "cannot be silenced",
    "ibkr.E007": "log TWS/IB Gateway in to the account; silence ibkr.E007 to accept a gateway that reports none",
    "ibkr.E008": "fix broker.ibkr.port (a copied config?); silence ibkr.E008 if the port is remapped on purpose",
    "ibkr.E009": "fix broker.ibkr.port, or log TWS/IB Gateway in so that it reports its accounts; the "
                 "paper/live guard cannot be silenced",
}
# The ibkr check's results that mean its probe ran to a verdict: connected (and its
# account findings are in the report), or could not connect (reported as documented).
_IBKR_PROBED_IDS = frozenset({"ibkr.I001", "ibkr.E001", "ibkr.E002", "ibkr.E003", "ibkr.E005"})


@dataclass(frozen=True)
class Refusal:
    message: str
    hint: str


def refusal(field: str, entry: str) -> Refusal | None:
    """Why ``entry`` may not appear in ``checks.<field>`` (silence / disable), or None if it may."""
    entry = entry.strip()
    if entry in GUARD_IDS:
        verb = "silenced" if field == "silence" else "disabled"
        # The message says what to do as well: the loader shows the message, not always the hint.
        return Refusal(
            f"{entry} is the paper/live guard ({GUARD_IDS[entry]}) and cannot be {verb}; "
            "remove it and point the config at the right account",
            "see docs/BROKERS.md, 'Paper or live'",
        )
    if field == "disable" and entry in GUARD_NAMES:
        return Refusal(
            f"'{entry}' is the paper/live guard, which cannot be disabled; remove it "
            "(disabling the ibkr check is allowed and leaves the guard in place)",
            "see docs/BROKERS.md, 'Paper or live'",
        )
    return None


def ibkr_findings(mode: str, port: int, accounts: list[str]) -> list[CheckResult]:
    """The precheck results of what TWS's accounts and the port say against ``mode``."""
    from session.brokers.ibkr import paper_live_findings
    from session.checks.results import error

    results = []
    for finding in paper_live_findings(mode, port, accounts):
        id_ = _IBKR_FINDING_IDS[finding.kind]
        results.append(error(id_, finding.message, _IBKR_HINTS[id_]))
    return results


def enforce_paper_live_guard(config: TradedayConfig, mode: str, report: PrecheckReport) -> PrecheckReport:
    """The precheck ``report`` with the guard enforced: what ``run`` decides on.

    Guard results are never silenced. If the ``ibkr`` check did not probe (disabled, not
    selected, timed out or crashed), the guard probes the accounts itself and adds what it
    finds. Never raises for a broker problem; the report says it.
    """
    from session.checks.results import PrecheckReport

    results = list(report.results)
    for result in results:
        if result.id in GUARD_IDS:
            result.silenced = False
    if config.broker.uses("ibkr") and not any(r.id in _IBKR_PROBED_IDS for r in results):
        silenced = set(config.checks.silence)
        for result in _probe_for_the_guard(config, mode):
            result.check = "guard"
            result.silenced = result.id in silenced and result.id not in GUARD_IDS
            results.append(result)
    return PrecheckReport(mode=report.mode, session=report.session, results=results, strict=report.strict)


def _probe_for_the_guard(config: TradedayConfig, mode: str) -> list[CheckResult]:
    from session.brokers.ibkr import probe_ibkr

    ib = config.broker.ibkr
    probe = probe_ibkr(ib.host, ib.port, ib.probe_client_id, timeout=ib.timeout)
    return guard_verdict(mode, ib.port, probe)


def guard_verdict(mode: str, port: int, probe: IbkrProbeResult) -> list[CheckResult]:
    """The guard's own results for a probe it made: the guard ids it proves, else whether
    the accounts match (guard.I001) or could not be read (guard.W001 paper, guard.E001 live: both
    errors, silenceable)."""
    from session.checks.results import error, info

    if probe.ok:
        proven = [r for r in ibkr_findings(mode, port, probe.accounts) if r.id in GUARD_IDS]
        if proven:
            return proven
        if probe.accounts:
            return [info("guard.I001", f"paper/live guard: IBKR accounts {', '.join(probe.accounts)} match mode {mode}")]
        why = f"no managed accounts reported on port {port}"
    else:
        why = probe.message
    # Unverified fails the run in both modes: a "paper" engine connected to a TWS that is logged
    # in to a live account would trade it. guard.W001 keeps its id (paper) but is an error now.
    code = "W001" if mode == "paper" else "E001"
    return [error(f"guard.{code}", f"paper/live guard could not read the IBKR accounts: {why}",
                       "the ibkr check did not probe (disabled, or it did not finish): enable it to see why, "
                       f"or start TWS/IB Gateway before tradeday; silence guard.{code} to accept a day with the "
                       "account kind unverified")]
