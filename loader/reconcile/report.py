"""Reconcile's report: the per-day table and summary a person reads, and the JSON a scheduler
reads (``--json``)."""

from __future__ import annotations

from typing import Any


def reconcile_json(outcome: Any, apply: bool) -> dict[str, Any]:
    c = outcome.comparison
    return {
        "command": "reconcile",
        "start": c.first,
        "end": c.last,
        "applied": outcome.applied is not None,
        "dry_run": not apply,
        "corrections": len(c.corrections),
        "reconcile_id": outcome.applied.extract_id if outcome.applied else None,
        "source_rows": c.source_rows,
        "warehouse_rows": c.warehouse_rows,
        "deleted": c.total("deleted"),
        "differs": c.total("differs"),
        "never_loaded": c.total("never_loaded"),
        "pending": c.total("pending"),
        "future_cursor": c.total("future"),
        "days_equal_by_fingerprint": sum(1 for r in c.days.values() if r.fingerprint),
        "not_loaded": [str(r.day) for r in c.days.values() if r.not_loaded],
        "days": [r.as_json() for r in c.days.values() if r.corrections or r.pending or r.future],
    }


def reconcile_text(outcome: Any, apply: bool) -> str:
    c = outcome.comparison
    span = f"{c.first}..{c.last}"
    n = len(c.corrections)
    rows = [r for r in c.days.values() if r.corrections or r.pending or r.future]
    head = f"reconcile {span}: {c.source_rows} source rows, {c.warehouse_rows} in the warehouse"
    proven = sum(1 for r in c.days.values() if r.fingerprint)
    unloaded = [
        f"{r.day}: not loaded ({r.not_loaded}): load it with nps-loader run --date {r.day} "
        "(reconcile compares loaded days only)"
        for r in c.days.values()
        if r.not_loaded
    ]
    if not rows:
        days = (c.last - c.first).days + 1
        by_print = f" ({proven} of {days} days equal by fingerprint)" if proven else ""
        return "\n".join([f"{head}{by_print}; they match: nothing to correct", *unloaded])
    header = (
        "day",
        "source",
        "warehouse",
        "deleted",
        "differs",
        "never_loaded",
        "pending",
        "future",
    )
    table = [header] + [
        (
            str(r.day),
            str(r.source_rows),
            str(r.warehouse_rows),
            str(len(r.deleted)),
            str(len(r.differs)),
            str(len(r.never_loaded)),
            str(r.pending),
            str(len(r.future)),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        head,
        *("  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) for line in table),
    ]
    for r in rows:
        for what, ids in (
            ("deleted from the source", r.deleted),
            ("differ", [f"{i} ({why})" for i, why in r.differs]),
            ("never loaded", r.never_loaded),
            ("cursor in the future (not corrected: fix the source)", r.future),
        ):
            if ids:
                shown = ", ".join(str(i) for i in ids[:10]) + (" ..." if len(ids) > 10 else "")
                lines.append(f"{r.day}: {what}: {shown}")
    lines += unloaded
    if c.total("pending"):
        lines.append(
            f"{c.total('pending')} row(s) changed after the newest loaded window are left to "
            "the daily runs"
        )
    if outcome.applied is not None:
        lines.append(
            f"applied {n} correction(s) (reconcile {outcome.applied.extract_id}) to raw.nps; "
            f"next: dbt run"
        )
    elif n and not apply:
        lines.append(
            f"dry run: {n} correction(s) not written; next: nps-loader reconcile --start "
            f"{c.first} --end {c.last} --apply, then dbt run"
        )
    return "\n".join(lines)


def corrections_summary(outcome: Any) -> str:
    """One line: what a dry run found and the command that applies it (for a scheduler that
    fails the task on it: --fail-on-corrections)."""
    c = outcome.comparison
    return (
        f"reconcile {c.first}..{c.last} found {len(c.corrections)} correction(s) "
        f"({c.total('deleted')} deleted from the source, {c.total('differs')} differ, "
        f"{c.total('never_loaded')} never loaded): apply them with nps-loader reconcile "
        f"--start {c.first} --end {c.last} --apply, then dbt run"
    )
