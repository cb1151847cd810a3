"""``netzatlas gigabit``: white/grey spots, the market-exploration procedure (MEV), funding areas, reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar
from netzatlas.errors import InvalidParameter

app = typer.Typer(help="Gigabit-Förderung: weiße/graue Flecken je Adresse (white/grey spots per address), "
                       "Markterkundungsverfahren (market exploration), Fördergebiete (funding areas), reports.",
                  no_args_is_help=True)
PROGRAMME = typer.Option("gigabit-rl-2.0-2024", "--programme", "-p",
                         help="Funding programme id or a YAML file (see `netzatlas gigabit programmes`).")
REF = typer.Option(None, "--date", "--reference-date", help="Reference date (Stichtag), 2025-12-31 or 31.12.2025 "
                   "(default today), start of the planning horizon.")


def _number(value: object) -> float:
    """A number option as a German or an English user writes it: ``85.5`` or ``85,5``, ``1.000.000``; a value
    that reads two ways (``1.000``, ``2,500``: thousands or a decimal?) is refused, never guessed. ``nan`` / ``inf``
    pass on to the checks that name the option."""
    import re

    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[1-9]\d{0,2}[.,]\d{3}", text):
        try:
            return float(text)
        except ValueError:
            pass
    if re.fullmatch(r"[+-]?[\d.,]*\d[\d.,]*", text):
        from netzatlas.gigabit.numbers import parse_number

        number, problem, _ = parse_number(text)
        if problem is None and number is not None:
            return number
        if problem is not None and problem.kind == "ambiguous":
            head, tail = re.split(r"[.,]", text.lstrip("+-"))
            raise typer.BadParameter(f"{text!r} {problem.reason}: write it without a thousands separator "
                                     f"({head}{tail}) or with a decimal point ({float(head + '.' + tail)!r})")
    raise typer.BadParameter(f"{text!r} is not a number: write e.g. 85.5 (or 85,5)")


def _date(value: str | None) -> date:
    from netzatlas.gigabit.classify_common import parse_reference_date

    return parse_reference_date(value)


@app.command("programmes")
@friendly_errors
def programmes_cmd() -> None:
    """List the shipped funding programmes with their thresholds, horizon and validity (a table on a terminal;
    tab-separated lines with a header when the output goes to a file or a pipe)."""
    from netzatlas.gigabit.programmes import shipped

    header = ("id", "title", "eligible unless one network meets", "NGA from", "horizon", "socio-economic rule",
              "valid")
    rows = []
    for p in shipped():
        se = p.socio_economic
        rule = "—" if se.rule == "same" else (
            f"{se.why()}: {', '.join(se.categories)}" + (f" (from {se.valid_from})" if se.valid_from else "")
            + ("" if "business" not in se.categories else "; business only in a Gewerbegebiet"
               if se.business_area == "rule" else "; a business outside a Gewerbegebiet counts, flagged"))
        rows.append((p.id, p.title_en, p.thresholds_text(), f"{p.nga_min_down_mbps:g} Mbit/s down",
                     f"{p.horizon_years:g} y", rule, f"{p.valid_from} – {p.valid_to or 'today'}"))
    if not console.is_terminal:
        for row in (header, *rows):
            typer.echo("\t".join(row))
        return
    t = Table(title="Förderprogramme / funding programmes")
    id_width = max(len(r[0]) for r in rows)
    for i, name in enumerate(header):   # the id is what people type: never cut or wrapped; the texts fold
        t.add_column(name, no_wrap=True, min_width=id_width) if i == 0 else t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*row)
    console.print(t)


def _atlas_shares() -> dict[str, float]:
    """The Breitbandatlas shares of the configured municipality ({} when the bundled table has no row for it)."""
    from netzatlas.config import get_settings
    from netzatlas.errors import NotFound
    from netzatlas.gigabit import breitbandatlas

    ags = get_settings().municipality_ags
    try:
        return breitbandatlas.shares(ags) if ags else {}
    except NotFound:
        return {}


@app.command("simulate")
@friendly_errors
def simulate_cmd(seed: int = typer.Option(2021, "--seed", help="Random seed (the result is reproducible)."),
                 source: str = typer.Option("simulation-demo", "--source", help="Source name of the rows."),
                 ags: str = typer.Option(None, "--ags", help="Municipality key (AGS) for the Breitbandatlas shares "
                                                             "(default: the configured municipality's)."),
                 ) -> None:
    """SIMULATE per-address supply for the demo (operators' answers are not public), calibrated to the
    Breitbandatlas shares, street by street, and store it in the registry."""
    from netzatlas.gigabit import breitbandatlas
    from netzatlas.gigabit.simulate import SIMULATED_NOTE, achieved_shares, simulate_supply
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect

    with connect() as conn:
        addrs = gigabit_store.read_addresses(conn)
    from netzatlas.config import get_settings

    targets = breitbandatlas.targets(ags or get_settings().municipality_ags or "05334002")
    supply = simulate_supply(addrs.to_crs(25832), targets, seed=seed)
    with progress_bar("writing supply", total=1) as update:
        rep = gigabit_store.write_supply(supply, source=source)
        update(1)
    print_report_table("supply rows", rep.table())
    got = achieved_shares(addrs, supply)
    t = Table("share (% of addresses)", "Breitbandatlas target", "simulated", title="Calibration")
    for k, v in got.items():
        t.add_row(k, f"{targets[k]:.2f}", f"{v:.2f}")
    console.print(t)
    console.print(f"[bold yellow]{SIMULATED_NOTE}[/]")


@app.command("mev-import")
@friendly_errors
def mev_import(paths: list[Path] = typer.Argument(..., help="Answer files, one per operator: CSV, xlsx, ODS or "
                                                                 "GeoPackage."),
               operator: list[str] = typer.Option(None, "--operator",
                                                  help="The operator who answered; once per file, in order (default: "
                                                       "the file's betreiber/operator column)."),
               mev: str = typer.Option(..., "--mev", help="Name of the market exploration, e.g. mev-2026."),
               tolerance_m: float = typer.Option(25.0, "--tolerance", parser=_number,
                                                 help="Nearest-match tolerance in metres (25 or 12,5)."),
               decimal: str = typer.Option(None, "--decimal",
                                           help="The files' decimal mark, ',' or '.' (default: detected per column; "
                                                "a value that reads two ways is refused)."),
               encoding: str = typer.Option(None, "--encoding", help="Force the CSV encoding (default: detected)."),
               separator: str = typer.Option(None, "--separator", help="Force the CSV separator: ';', ',' or tab."),
               sheet: str = typer.Option(None, "--sheet", help="xlsx / ODS: the sheet to read (case and spaces "
                                         "aside); GeoPackage: the layer (default: the one sheet or layer holding "
                                         "answer columns)."),
               out: Path = typer.Option(None, "--out", help="Report folder (default NETZATLAS_HOME/output/mev/<mev>)."),
               replaces: str = typer.Option(None, "--replaces", help="An earlier market exploration this one "
                                            "supersedes (e.g. mev-2025): the answers there of this run's operators "
                                            "are withdrawn (the others' stay)."),
               ref: str = REF) -> None:
    """Import Markterkundungsverfahren answers in ONE transaction: validate every row (numbers, dates, units),
    match to the register (id, street + number + postcode, ranges along one side, nearest), store the supply, the
    per-operator summary and the unmatched / conflict reports (database and CSV). Exit 0 imported, 2 refused
    (nothing written; every bad row listed with row, column, value and reason)."""
    from netzatlas.cli import _mev
    from netzatlas.errors import ImportRejected

    opt = _mev.MevOptions(mev=mev, tolerance_m=tolerance_m, reference_date=_date(ref), decimal=decimal,
                          encoding=encoding, separator=separator, sheet=sheet, out=out, replaces=replaces)
    from netzatlas.cli.importing import rows_progress

    try:
        with rows_progress("reading the answer files") as progress:  # drawn on a terminal only
            summaries = _mev.run(paths, list(operator or []), opt, progress)
    except ImportRejected as exc:
        _mev.print_rejects(exc)
        raise typer.Exit(2) from None
    _mev.print_summary(summaries, mev)


@app.command("classify")
@friendly_errors
def classify_cmd(programme: str = PROGRAMME, ref: str = REF,
                 snapshot: str = typer.Option(None, "--snapshot", help="Keep the result as this dated snapshot "
                                              "(any name up to 100 characters; a snapshot of the same name is "
                                              "replaced, its funding areas removed, and the command says so).")
                 ) -> None:
    """Classify every address in PostGIS (weiß / hellgrau / dunkelgrau / schwarz / gigabitfähig) with eligibility
    and a reason; optionally keep it as a snapshot. Warns when the date is outside the programme's validity."""
    from netzatlas.gigabit.classify_common import check_snapshot_name
    from netzatlas.gigabit.programmes import load_programme
    from netzatlas.registry import gigabit_snapshots  # no pandas: the work is one statement in PostGIS
    from netzatlas.registry.db import connect

    if snapshot is not None:
        check_snapshot_name(snapshot)
    p = load_programme(programme)
    d = _date(ref)
    warning = p.validity_warning(d)
    if warning:
        console.print(f"[bold yellow]Warnung / warning:[/] {escape(warning)}")
    with connect() as conn:
        simulated = gigabit_snapshots.has_simulated_supply(conn)
        note = None
        if simulated:
            from netzatlas.gigabit.simulate import SIMULATED_NOTE as note
        with progress_bar(f"classifying ({escape(p.id)})", total=1) as update:
            if snapshot is not None:  # one statement inside PostGIS writes the snapshot; one pass over it counts
                replaced = gigabit_snapshots.snapshot_exists(conn, snapshot)
                counts = gigabit_snapshots.classify_snapshot(conn, snapshot, p, d, simulated=simulated, note=note,
                                                             warning=warning)
                conn.commit()
            else:
                counts = gigabit_snapshots.classify_counts(conn, p, d)
            update(1)
    from netzatlas.gigabit.classify_common import CLASSES

    order = list(CLASSES)  # the report's order: weiß, hellgrau, dunkelgrau, schwarz, gigabitfähig
    counts = sorted(counts, key=lambda r: order.index(r["class_de"]) if r["class_de"] in order else len(order))
    print_report_table(f"{escape(p.title_en)} — reference date {d}",
                       [{"class": f"{r['class_de']} / {r['class_en']}", "addresses": r["addresses"],
                         "eligible": r["eligible"], "overdue plans": r["overdue_plans"],
                         "pre-marketing": r["pre_marketing"]} for r in counts])
    console.print(f"eligible addresses: {sum(r['eligible'] for r in counts):,} of "
                  f"{sum(r['addresses'] for r in counts):,}")
    if note:
        console.print(f"[bold yellow]{note}[/]")
    if warning:
        console.print(f"[bold yellow]Warnung / warning:[/] {escape(warning)}")
    if snapshot is not None:
        console.print(f"kept as snapshot {snapshot!r}", markup=False)
        if replaced:
            console.print(f"replaced the earlier snapshot {snapshot!r} ({replaced['programme']}, reference date "
                          f"{replaced['reference_date']}, made {replaced['created_at']:%Y-%m-%d %H:%M}; its funding "
                          "areas removed) / früherer Stand gleichen Namens ersetzt", markup=False, style="bold yellow")


def _snapshot_programme(conn, snap: dict, programme: str | None):  # noqa: ANN001, ANN202 - a Programme
    """The programme a snapshot was classified under: the user's own file given with ``--programme`` (which must
    carry that id), else the definition kept with the snapshot (an own programme), else the shipped one by its id."""
    from netzatlas.errors import NotFound
    from netzatlas.gigabit.programmes import load_programme
    from netzatlas.registry.gigabit_snapshots import snapshot_programme

    kept = snapshot_programme(conn, snap["id"])
    if programme is not None:
        p = load_programme(programme)
        if p.id != snap["programme"]:
            raise InvalidParameter(f"snapshot {snap['id']!r} was classified under {snap['programme']!r}, not "
                                   f"{p.id!r}", hint="leave out --programme, or give that programme's file")
        if kept is not None and p != kept:  # the file was edited since: its rules are not the snapshot's
            raise InvalidParameter(f"{programme} is not the definition of {p.id!r} that snapshot {snap['id']!r} was "
                                   "classified under (the file was changed since) / andere Regeln als im Stand",
                                   hint="leave out --programme: the snapshot keeps its programme; or classify again "
                                        "with the changed file")
        return p
    if kept is not None:
        return kept
    try:
        return load_programme(snap["programme"])
    except NotFound:
        raise NotFound(f"snapshot {snap['id']!r} was classified under the programme {snap['programme']!r}, which "
                       "is not shipped / kein mitgeliefertes Programm (and the snapshot, made before programmes "
                       "were kept with it, does not hold its definition)",
                       hint="give its YAML file: --programme path/to/programme.yaml") from None


@app.command("compare")
@friendly_errors
def compare_cmd(a: str = typer.Argument(..., help="Earlier snapshot."),
                b: str = typer.Argument(..., help="Later snapshot."),
                out: Path = typer.Option(None, "--out", help="Write the changed addresses to this CSV for German "
                                         "Excel (street, number, postcode, class and eligibility before / after).")
                ) -> None:
    """Which addresses changed class or eligibility between two snapshots: how many per change (class and
    eligibility before → after); ``--out FILE.csv`` lists the addresses."""
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect

    if out is not None and out.is_dir():
        raise InvalidParameter(f"{out} is a folder; --out takes the CSV file to write", hint="e.g. --out changes.csv")
    if out is not None:  # its folder checked before anything runs (a read-only one was a traceback)
        from netzatlas.reports.staging import writable_folder

        writable_folder(out.parent)
    with connect() as conn:
        for name in (a, b):  # a misspelt name is refused, not read as "nothing changed"
            gigabit_store.get_snapshot(conn, name)
        diff = gigabit_store.compare_snapshots(conn, a, b)
        if out is not None:
            written = _write_changes(conn, diff, out)
    if diff.empty:
        console.print("no address changed class or eligibility / keine Adresse hat Klasse oder Förderfähigkeit "
                      "geändert")
    else:
        print_report_table(f"{escape(a)} → {escape(b)}: {_addresses(len(diff))} changed / geändert",
                           _change_rows(diff))
    if out is not None:
        console.print(f"[green]CSV[/]: {escape(str(written))} ({_addresses(len(diff))})")
    elif not diff.empty:
        console.print("the addresses: --out FILE.csv / die Adressen: --out DATEI.csv", markup=False)


def _addresses(n: int) -> str:
    return f"{n:,} address" if n == 1 else f"{n:,} addresses"


def _class_label(value: str) -> str:
    from netzatlas.gigabit.classify_common import CLASSES

    return f"{value} / {CLASSES[value]}" if value in CLASSES else str(value)


def _change_rows(diff) -> list[dict[str, object]]:  # noqa: ANN001 - a DataFrame
    """The changes counted per class and eligibility before → after, in the class order, headers German / English."""
    from netzatlas.gigabit.classify_common import CLASSES

    order = {c: i for i, c in enumerate(CLASSES)}
    moves = diff.groupby(["class_a", "class_b", "eligible_a", "eligible_b"]).size().reset_index(name="n")
    moves = moves.sort_values(["class_a", "class_b", "eligible_a", "eligible_b"],
                              key=lambda s: s.map(order) if s.name.startswith("class") else s, kind="stable")
    yes = {True: "ja / yes", False: "nein / no"}
    return [{"Klasse vorher / class before": _class_label(r.class_a),
             "Klasse nachher / class after": _class_label(r.class_b),
             "förderfähig vorher / eligible before": yes[bool(r.eligible_a)],
             "förderfähig nachher / eligible after": yes[bool(r.eligible_b)],
             "Adressen / addresses": int(r.n)} for r in moves.itertuples()]


def _write_changes(conn, diff, out: Path) -> Path:  # noqa: ANN001
    """The changed addresses as the MEV reports' CSV (``;``, UTF-8 with BOM, German titles, ja/nein, sorted by
    street and number)."""
    import pandas as pd

    from netzatlas.gigabit.mev_report import write_german_csv

    ids = diff["address_id"].tolist()
    where = pd.DataFrame(conn.execute(
        "SELECT id::text AS address_id, house_number_suffix, postcode, city FROM registry.fibre_address "
        "WHERE id = ANY(%s::uuid[])", [ids]).fetchall(),
        columns=["address_id", "house_number_suffix", "postcode", "city"])
    rows = diff.merge(where, on="address_id", how="left")
    table = pd.DataFrame({
        "address_id": rows["address_id"], "street": rows["street"], "house_number": rows["house_number"],
        "house_number_suffix": rows["house_number_suffix"], "postcode": rows["postcode"], "city": rows["city"],
        "Klasse vorher": rows["class_a"], "Klasse nachher": rows["class_b"],
        "förderfähig vorher": rows["eligible_a"].astype(bool), "förderfähig nachher": rows["eligible_b"].astype(bool),
        "Grund nachher": rows["reason_b"]})
    return write_german_csv(table, out)


def _newest(snaps: list[dict]) -> dict:
    """The snapshot ``report`` takes by default: the newest reference date (Stichtag); of several with that date the
    one classified last."""
    return max(snaps, key=lambda s: (s["reference_date"], s["created_at"]))


def _why_newest(snap: dict, snaps: list[dict]) -> str:
    """Why the default snapshot was taken, naming the others of its reference date."""
    same = [s["id"] for s in snaps if s["reference_date"] == snap["reference_date"] and s["id"] != snap["id"]]
    if len(snaps) == 1:
        return ": the only one kept"
    if not same:
        return f": the newest by reference date of {len(snaps)} kept (another: --snapshot NAME)"
    return (f": the newest by reference date, of those the one classified last (also of that date: "
            f"{', '.join(repr(s) for s in same[:5])}{' …' if len(same) > 5 else ''}; choose with --snapshot NAME)")


@app.command("report")
@friendly_errors
def report_cmd(snapshot: str = typer.Option(None, "--snapshot", help="The snapshot to report (default: the newest by "
                                            "reference date, of those the one classified last; with none kept "
                                            "yet, the registry is classified now)."),
               programme: str = typer.Option(None, "--programme", "-p", help="Without --snapshot: classify now "
                                             "under this programme (default gigabit-rl-2.0-2024); with --snapshot: "
                                             "the YAML file of the snapshot's own programme."),
               ref: str = REF,
               out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/gigabit)."),
               link_distance_m: float = typer.Option(150.0, "--link-distance", parser=_number,
                                                     help="Funding areas: addresses belong together up to this "
                                                          "distance along the roads (m)."),
               min_addresses: int = typer.Option(5, "--min-addresses", help="Smallest funding area (addresses)."),
               max_addresses: int = typer.Option(1500, "--max-addresses", help="Largest funding area (addresses); "
                                                 "larger ones are split along the roads."),
               max_cost: float = typer.Option(None, "--max-cost", parser=_number,
                                              help="Costliest funding area (€), split above."),
               eur_per_m: float = typer.Option(100.0, "--eur-per-m", parser=_number,
                                               help="Civil works € per trench metre (85.5 or 85,5)."),
               eur_per_connection: float = typer.Option(800.0, "--eur-per-connection", parser=_number,
                                                        help="€ per connection."),
               ) -> None:
    """Write the report of a snapshot: HTML in German with English alongside (map, classes, funding areas with
    their cost assumptions, postcodes, 100 m cells, the Breitbandatlas beside the registry's coverage, sources), a
    GeoPackage and a CSV of eligible addresses for German Excel."""
    from netzatlas.config import get_settings
    from netzatlas.gigabit.funding_areas import FundingAreaParams, funding_areas
    from netzatlas.gigabit.programmes import load_programme
    from netzatlas.gigabit.shares import compare_with_atlas, shares_per_cell
    from netzatlas.gigabit.simulate import SIMULATED_NOTE
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect, get_layer
    from netzatlas.registry.exporters.files import read_layer
    from netzatlas.reports.gigabit_report import ReportContext, check_out_dir, write_report

    params = FundingAreaParams(link_distance_m=link_distance_m, min_addresses=min_addresses,
                               max_addresses=max_addresses, max_cost_eur=max_cost, eur_per_m=eur_per_m,
                               eur_per_connection=eur_per_connection)
    target = check_out_dir(out or get_settings().output_dir / "gigabit")  # refused before the work, not after
    if snapshot is not None:
        from netzatlas.gigabit.classify_common import check_snapshot_name

        check_snapshot_name(snapshot)
    with progress_bar("gigabit report", total=4) as update:
        with connect() as conn:
            snaps = gigabit_store.list_snapshots(conn)
            # a snapshot: the one named, or the newest unless a programme or date asks to classify now
            if snapshot is not None or (snaps and programme is None and ref is None):
                snap = gigabit_store.get_snapshot(conn, snapshot) if snapshot is not None else _newest(snaps)
                d = snap["reference_date"]
                if ref is not None and _date(ref) != d:
                    raise InvalidParameter(f"snapshot {snap['id']!r} has the reference date {d}; --date classifies "
                                           "now and goes without --snapshot / der Stand hat seinen eigenen Stichtag")
                p = _snapshot_programme(conn, snap, programme)
                res = gigabit_store.read_snapshot(conn, snap["id"])
                simulated = bool(snap["simulated"])
                warning = snap.get("warning") or p.validity_warning(d)
            else:
                snap = None
                p = load_programme(programme or "gigabit-rl-2.0-2024")
                d = _date(ref)
                res = gigabit_store.classify_in_db(conn, p, d)
                simulated = gigabit_store.has_simulated_supply(conn)
                warning = p.validity_warning(d)
            addrs = gigabit_store.read_addresses(conn)
            roads = read_layer(conn, get_layer(conn, "road"))
            from psycopg import sql

            cells = read_layer(conn, get_layer(conn, "population_grid"), where=sql.SQL("resolution_m = 100"))
            coverage = gigabit_store.registry_coverage(conn)
            sources = gigabit_store.import_sources(conn)
        update(1, description="funding areas")
        classified = addrs.merge(res, on="address_id")
        areas = funding_areas(classified.to_crs(25832), roads, params)
        update(2, description="cells")
        per_cell = shares_per_cell(classified, cells)
        atlas = compare_with_atlas(res, _atlas_shares())
        update(3, description="writing")
        ctx = ReportContext(snapshot=snap, warning=warning, coverage=coverage, sources=sources,  # with the routing
                            assumptions=areas.attrs["assumptions"], routing=areas.attrs.get("routing"),
                            unassigned=areas.attrs.get("unassigned", 0))
        rep = write_report(classified, areas, per_cell, atlas, p, target, note=SIMULATED_NOTE if simulated else None,
                           roads=roads, reference_date=d, context=ctx)
        update(4)
    if snap is None:
        console.print(("the registry was classified now under " if snaps else "no snapshot kept yet: the registry was "
                       "classified now under ") + f"{escape(p.id)}, reference date {d}, not kept "
                      "(keep one with `netzatlas gigabit classify --snapshot NAME`)")
    else:
        console.print(f"snapshot {snap['id']!r} ({snap['programme']}, reference date {d})"
                      + ("" if snapshot is not None else _why_newest(snap, snaps)), markup=False)
    if warning:
        console.print(f"[bold yellow]Warnung / warning:[/] {escape(warning)}")
    console.print(f"eligible addresses: {int(res['eligible'].sum()):,}; funding areas: {len(areas)} "
                  f"(largest {int(areas['addresses'].max()) if len(areas) else 0:,} addresses)")
    if simulated:
        console.print(f"[bold yellow]{SIMULATED_NOTE}[/]")
    console.print(f"[green]report[/]: {escape(str(rep.html))}\n[green]GeoPackage[/]: {escape(str(rep.gpkg))}\n"
                  f"[green]CSV[/]: {escape(str(rep.csv))}")
