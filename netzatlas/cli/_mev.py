"""``netzatlas gigabit mev-import``: operators' answer files → supply, reports and summary, in ONE transaction.

Order: every file is read and checked first (a bad row refuses the run before the database is touched); then, in
one transaction, the register is read, every file matched, the supply written, the summaries and report rows
stored and the report files written to a hidden scratch folder in the output folder
(:func:`netzatlas.reports.staging.staged_outputs`); the transaction commits only when all of that worked, and only
then are the files moved over the older ones. A refusal leaves the database and the folder as before.
"""

from __future__ import annotations

import contextlib
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from netzatlas.cli._common import console, err_console
from netzatlas.errors import ImportRejected, InvalidParameter, NetzatlasError, Reject
from netzatlas.registry.importers.load import Progress
from netzatlas.reports.staging import staged_outputs


@dataclass
class MevOptions:
    mev: str
    tolerance_m: float = 25.0
    reference_date: date | None = None
    decimal: str | None = None
    encoding: str | None = None
    separator: str | None = None
    sheet: str | None = None
    out: Path | None = None
    replaces: str | None = None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "operator"


def _pair(paths: list[Path], operators: list[str]) -> list[tuple[Path, str | None]]:
    if not operators:
        return [(p, None) for p in paths]
    if len(operators) != len(paths):
        raise InvalidParameter(f"{len(paths)} file(s) but {len(operators)} --operator",
                               hint="give one --operator per file, in the same order (or none: the file's "
                                    "betreiber/operator column names it)")
    return list(zip(paths, operators, strict=True))


def print_rejects(exc: ImportRejected) -> None:
    """The refused rows: file, row, column, value, reason (all of them, up to 200)."""
    err_console.print(f"[bold red]Import refused[/]: {escape(exc.source)}: {len(exc.rejects)} row(s) rejected; "
                      "the database and the output folder are unchanged.")
    t = Table("file", "row", "column", "value", "reason", title="Rejected rows")
    for r in exc.rejects[:200]:
        t.add_row(escape(str(getattr(r, "file", "") or "")), str(r.row), escape(str(getattr(r, "column", "") or "")),
                  escape(str(getattr(r, "value", "") or "")), escape(getattr(r, "why", "") or r.reason))
    err_console.print(t)
    if len(exc.rejects) > 200:
        err_console.print(f"… and {len(exc.rejects) - 200} more")
    if exc.hint:
        err_console.print(f"[yellow]Hint[/]: {escape(exc.hint)}")


def _read_all(pairs: list[tuple[Path, str | None]], opt: MevOptions, progress: Progress) -> list[pd.DataFrame]:
    from netzatlas.gigabit.mev import read_answers

    frames, rejects, names = [], [], []
    for path, operator in pairs:
        try:
            frames.append(read_answers(path, operator, reference_date=opt.reference_date, decimal=opt.decimal,
                                       encoding=opt.encoding, separator=opt.separator, sheet=opt.sheet))
            progress("reading the answer files", sum(len(f) for f in frames), 0)
        except ImportRejected as exc:
            for r in exc.rejects:
                r.file = path.name  # type: ignore[attr-defined]
            rejects += exc.rejects
            names.append(path.name)
    if rejects:
        raise ImportRejected(", ".join(names), rejects, hint="correct the operator's file and import it again")
    ops = [f["operator"].iloc[0] for f in frames]
    twice = {o for o in ops if ops.count(o) > 1}
    if twice:
        raise InvalidParameter(f"operator(s) {', '.join(sorted(twice))} given for several files",
                               hint="one file per operator in a run")
    _refuse_one_operator_twice(ops)
    return frames


def _refuse_one_operator_twice(ops: list[str]) -> None:
    """Two files under two names of one known operator ("Telekom", "DTAG") would be two operators' answers at the
    same addresses: refused."""
    from netzatlas.gigabit.mev import _operator_key

    seen: dict[str, str] = {}
    for o in ops:
        key = _operator_key(str(o))
        if key is not None and key in seen:
            raise InvalidParameter(f"{seen[key]} and {o} name one operator ({key}) in one run",
                                   hint="one file per operator: import its answers as one file under one name")
        if key is not None:
            seen[key] = str(o)


def _add_xy(answers: pd.DataFrame, srid: int) -> None:
    have = answers["lon"].notna() & answers["lat"].notna()
    answers["x"], answers["y"] = np.nan, np.nan
    if have.any():
        from pyproj import Transformer

        tr = Transformer.from_crs(4326, srid, always_xy=True)
        x, y = tr.transform(answers.loc[have, "lon"].to_numpy(), answers.loc[have, "lat"].to_numpy())
        answers.loc[have, "x"], answers.loc[have, "y"] = x, y


def run(paths: list[Path], operators: list[str], opt: MevOptions,
        progress: Progress | None = None) -> list[dict[str, object]]:
    """Import the files (see the module docstring); returns the summary rows. Raises on refusal. ``progress(phase,
    done, total)``: answer rows read, register addresses read, answer rows matched and written (0 total: unknown)."""
    progress = progress or (lambda phase, done, total: None)
    from netzatlas.bulk import gc_paused
    from netzatlas.config import get_settings
    from netzatlas.gigabit.addressmatch import index_register, normalise_city
    from netzatlas.gigabit.mev_report import build_outcome, summary_row, write_german_csv
    from netzatlas.registry import gigabit_store, store
    from netzatlas.registry.db import connect

    _check_tolerance(opt.tolerance_m)
    if opt.replaces is not None and opt.replaces == opt.mev:
        raise InvalidParameter(f"--replaces {opt.replaces}: that is this run's --mev",
                               hint="--replaces names the earlier market exploration, e.g. --replaces mev-2025")
    frames = _read_all(_pair(paths, operators), opt, progress)
    n_answers, done = sum(len(f) for f in frames), 0
    out_dir = opt.out or get_settings().output_dir / "mev" / _slug(opt.mev)
    batch_id = store.new_batch_id("mev")
    summaries: list[dict[str, object]] = []
    notes: list[list[str]] = []
    created = not out_dir.exists()
    body_done = False  # the transaction's work is done: an error after it comes from the commit or the move
    try:
        with staged_outputs(out_dir) as tmp, gc_paused(), connect() as conn, conn.transaction():
            store.begin_batch(conn, batch_id, kind="mev", source=f"mev:{opt.mev}", target="broadband_supply")
            progress("reading the register", 0, 0)
            register, srid = gigabit_store.read_register(conn)
            progress("reading the register", len(register), len(register))
            register_index = index_register(register, unique_ids=True)  # address_id is the primary key
            if any(register_index.unknown_cities(f["city"]) for f in frames):  # "Brand": a district of the register's?
                register_index.districts = frozenset(" ".join(normalise_city(d))
                                                     for d in gigabit_store.read_districts(conn))
            sources = [f"mev:{opt.mev}:{f['operator'].iloc[0]}" for f in frames]
            replaced, there = _replaced_sources(conn, opt.replaces, [str(f["operator"].iloc[0]) for f in frames])
            other = gigabit_store.read_other_supply(conn, [f["operator"].iloc[0] for f in frames],
                                                    sources + list(replaced.values()))
            results = []

            def outcome(k: int, existing: pd.DataFrame):  # noqa: ANN202 - a mev_report.FileOutcome
                answers = frames[k]
                _add_xy(answers, srid)
                return build_outcome(answers, register_index, operator=str(answers["operator"].iloc[0]),
                                     file_name=paths[k].name, source=sources[k], tolerance_m=opt.tolerance_m,
                                     existing=existing)

            # the next file is matched in a worker thread while this one is written (the database works, Python
            # waits): the same outcome from the same inputs, taken (and refused, if so) in the same order as before
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mev-match") as ahead:
                pending: Future | None = None
                for k, answers in enumerate(frames):
                    progress("matching and writing the answers", done, n_answers)
                    operator = str(answers["operator"].iloc[0])
                    o = pending.result() if pending is not None else outcome(k, other)
                    pending = None
                    _refuse_if_nothing_matches(o)
                    summary = summary_row(o)
                    s = o.supply
                    if len(s):  # this file's binding plans count against the next files
                        plans = s[(s["status"] == "planned") & s["binding"].astype(bool)]
                        other = pd.concat([other, plans.assign(address_id=plans["address_id"].astype(str))[
                            ["address_id", "operator", "status", "binding"]]], ignore_index=True)
                    if k + 1 < len(frames):
                        pending = ahead.submit(outcome, k + 1, other)
                    o.notes += _withdraw_replaced(conn, replaced.get(operator), opt.replaces, there)  # (read_notes)
                    counts = gigabit_store.write_mev_outcome(conn, o, mev_id=opt.mev, batch_id=batch_id,
                                                             summary=summary)
                    summary |= counts
                    summaries.append(summary)
                    notes.append(list(o.notes))
                    _write_reports(tmp, operator, o, summary)
                    res = store.UpsertResult("broadband_supply", created=counts["created"], updated=counts["updated"],
                                             unchanged=counts["unchanged"])
                    results.append(res)
                    done += len(answers)
                    progress("matching and writing the answers", done, n_answers)
            write_german_csv(pd.DataFrame(summaries), tmp / "summary.csv", sort=False)
            store.finish_batch(conn, batch_id, results, {"mev": opt.mev, "files": [p.name for p in paths]})
            body_done = True
        # (the staged files move into out_dir once the transaction has committed: the blocks end in that order)
    except BaseException as exc:
        if body_done and isinstance(exc, OSError):  # committed: said so, never "refused" (and no traceback)
            raise NetzatlasError(
                f"the answers were imported (batch {batch_id}), but the report files could not be moved into "
                f"{out_dir}: {exc.strerror or exc}",
                hint="the supply and the reports are in the database (API collections mev_*): make the folder "
                     "writable and import the same files again to write them (nothing else changes)") from None
        if created:  # a refused run leaves no output folder it made itself
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise
    for s, n in zip(summaries, notes, strict=True):
        s["out"], s["read_notes"] = str(out_dir), n
    return summaries


def _write_reports(tmp: Path, operator: str, o, summary: dict[str, object]) -> None:  # noqa: ANN001
    """One operator's report files (unmatched rows, conflicts, summary) in the scratch folder."""
    from netzatlas.gigabit.mev_report import write_german_csv

    slug = _slug(operator)
    write_german_csv(o.unmatched, tmp / f"{slug}_unmatched.csv")
    write_german_csv(o.conflicts, tmp / f"{slug}_conflicts.csv")
    write_german_csv(pd.DataFrame([summary]), tmp / f"{slug}_summary.csv", sort=False)


def _replaced_sources(conn, replaces: str | None,  # noqa: ANN001
                      operators: list[str]) -> tuple[dict[str, str], list[str]]:
    """``--replaces MEV``: the sources of this run's operators in that earlier market exploration (operator →
    source) and the operators who answered it; an MEV never imported, or one none of this run's operators answered
    (an operator written otherwise then: "NetAachen GmbH" for "NetAachen"), is refused — it would replace nothing.
    Operators of the run that did not answer it have none (each says so in its notes)."""
    if replaces is None:
        return {}, []
    had = {r["operator"] if isinstance(r, dict) else r[0] for r in conn.execute(
        "SELECT DISTINCT operator FROM registry.mev_import WHERE mev_id = %s", [replaces]).fetchall()}
    if not had:
        raise InvalidParameter(f"--replaces {replaces}: no market exploration of that name was imported",
                               hint="give the --mev name of the earlier import (see the mev_summary_result "
                                    "collection)")
    if not had & set(operators):
        raise InvalidParameter(f"--replaces {replaces}: none of this run's operators ({', '.join(operators)}) "
                               "answered there", hint=f"the operators there: {', '.join(sorted(had))} — give "
                                                      "--operator as it was written then")
    return {o: f"mev:{replaces}:{o}" for o in operators if o in had}, sorted(had)


def _withdraw_replaced(conn, source: str | None, replaces: str | None,  # noqa: ANN001
                       there: list[str]) -> list[str]:
    """The operator's answer in the replaced MEV is superseded by this one: its live supply rows are withdrawn
    (soft-deleted, in the history under this batch), as rows a new file no longer holds are. A note says how many —
    or that the operator did not answer there (nothing withdrawn)."""
    if replaces is None:
        return []
    if source is None:
        return [f"replaces {replaces}: this operator did not answer there (operators there: {', '.join(there)}): "
                "nothing withdrawn"]
    n = conn.execute("UPDATE registry.broadband_supply SET deleted_at = now() WHERE source = %s AND deleted_at IS NULL",
                     [source]).rowcount
    return [f"replaces {replaces}: {n} supply row(s) of its answer there withdrawn"]


def _check_tolerance(tolerance_m: float) -> None:
    """The nearest-match tolerance: finite metres, at least 0 (a negative or infinite bound would place a point at
    the nearest address however far away it lies)."""
    import math

    if not math.isfinite(tolerance_m) or tolerance_m < 0:
        raise InvalidParameter(f"--tolerance {tolerance_m:g}: the nearest-match tolerance must be a finite number of "
                               "metres, 0 or more", hint="e.g. --tolerance 25 (0: coordinates must hit an address)")


def _refuse_if_nothing_matches(o) -> None:  # noqa: ANN001 - a mev_report.FileOutcome
    """A file none of whose rows is in the register (another municipality, a wrong file) is refused: importing it
    would withdraw the operator's earlier answer and add nothing."""
    from netzatlas.gigabit.mev import MevReject

    if len(o.matching.matches) or not len(o.answers):
        return
    rejects: list[Reject] = [MevReject(int(r.row_no), f"not in the register: {r.reason}", None, None, None,
                                       f"not in the register ({r.reason})")
                             for r in o.unmatched.head(20).itertuples(index=False)]
    for r in rejects:
        r.file = o.file_name  # type: ignore[attr-defined]
    more = f" (the first {len(rejects)} of {len(o.unmatched)} shown)" if len(o.unmatched) > len(rejects) else ""
    raise ImportRejected(o.file_name, rejects,
                         hint=f"no row of {o.file_name} matches an address of the register{more}: is it the answer "
                              "for another municipality, or does the register lack these streets?")


def print_summary(summaries: list[dict[str, object]], mev: str) -> None:
    t = Table("operator", "rows", "id", "str+nr+plz", "str+nr", "range", "near", "unmatched", "ambig", "conflicts",
              "avail", "planned", "binding", "new", "chg", "gone",
              title=f"Markterkundung / market exploration {mev}: rows matched by rule, supply rows written",
              caption="id = address id · str+nr(+plz) = street + number (+ postcode) · near = nearest within the "
                      "tolerance · ambig = fits several addresses · gone = withdrawn (no longer in the file)")
    for s in summaries:
        t.add_row(escape(str(s["operator"])), *(f"{int(s[k]):,}" for k in (
            "rows", "matched_address_id", "matched_street_number_postcode", "matched_street_number", "matched_range",
            "matched_nearest", "unmatched", "ambiguous", "conflicts", "supply_available", "supply_planned",
            "supply_binding", "created", "updated", "withdrawn")))
    console.print(t)
    for s in summaries:  # rows left out (dropped footers, totals) or read although hidden, and what --replaces did
        for note in s.get("read_notes") or []:  # type: ignore[union-attr]
            if any(w in str(note) for w in ("hidden in the sheet", "dropped")) or str(note).startswith("replaces "):
                console.print(f"{s['operator']}: {note}", markup=False)
    if summaries:
        console.print(f"reports (CSV for German Excel): {summaries[0]['out']}")


__all__ = ["MevOptions", "Reject", "print_rejects", "print_summary", "run"]
