"""Holdout: the gigabit coordinator's journey after the market exploration, tried as a demanding user would — snapshot
names, reference dates, programme files of one's own, funding-area parameters at their edges, report folders,
German Excel, an empty / unsupplied / fully gigabit registry, the API filtered by snapshot, two runs at once, a
refused market exploration. Each case: the right result (database, files, exit code) or exit 2 with a message a
coordinator understands — never a traceback, never a half-written database or output folder."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pyogrio
import pytest
import yaml

from netzatlas.reports.safe_html import text
from tests.conftest import auth
from tests.test_gigabit_journey import _cli

REF = "2026-11-26"
SHIPPED = Path(__file__).resolve().parent.parent / "netzatlas" / "gigabit" / "programmes" / "gigabit_rl_2_0_2024.yaml"
MEV_DATA = Path(__file__).parent / "data" / "mev"


def _one(conn, query: str, params: list | None = None):  # noqa: ANN001, ANN202
    row = conn.execute(query, params or []).fetchone()
    conn.rollback()
    return None if row is None else next(iter(row.values()))


def _n_addr(conn) -> int:  # noqa: ANN001
    return _one(conn, "SELECT count(*) FROM registry.fibre_address WHERE deleted_at IS NULL")


def _snap_rows(conn, snap: str) -> int:  # noqa: ANN001
    return _one(conn, "SELECT count(*) FROM registry.gigabit_classification WHERE snapshot_id = %s", [snap])


def _snap_count(conn, snap: str) -> int:  # noqa: ANN001
    return _one(conn, "SELECT count(*) FROM registry.gigabit_snapshot WHERE id = %s", [snap])


def _flat(result) -> str:  # noqa: ANN001
    return " ".join(result.output.split())


def _refused(result, *needles: str) -> str:  # noqa: ANN001
    assert result.exit_code == 2, result.output
    text = _flat(result)
    for n in needles:
        assert n in text, (n, result.output)
    return text


@pytest.fixture(scope="module")
def base(aachen_loaded):
    """The demo registry with the README's simulated supply (the journey's source and seed: the same rows whichever
    module runs first) and a base snapshot."""
    assert _cli("simulate", "--source", "simulation-journey").exit_code == 0
    r = _cli("classify", "--date", REF, "--snapshot", "holdout-base")
    assert r.exit_code == 0, r.output
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(aachen_loaded, row_factory=dict_row) as c:
        return _n_addr(c)


# ------------------------------------------------------------------------------------------------ snapshot names
def test_snapshot_name_with_umlauts_spaces_quotes_and_slash(base, conn, tmp_path):
    name = "Stand Köln/Süd \"v2\" 'Entwurf' & #1"
    r = _cli("classify", "--date", REF, "--snapshot", name)
    assert r.exit_code == 0, r.output
    assert f"kept as snapshot {name!r}" in r.output
    assert _snap_rows(conn, name) == base
    rep = _cli("report", "--snapshot", name, "--out", str(tmp_path))
    assert rep.exit_code == 0, rep.output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert text(name) in page
    assert _cli("compare", "holdout-base", name).exit_code == 0


def test_snapshot_name_with_rich_markup_is_printed_as_written(base, conn):
    # "[/]" used to reach rich's markup parser after the snapshot was committed: a traceback, exit 1
    name = "[/]Stand [bold]2026"
    r = _cli("classify", "--date", REF, "--snapshot", name)
    assert r.exit_code == 0, r.output
    assert f"kept as snapshot {name!r}" in r.output
    assert _snap_rows(conn, name) == base
    assert _cli("compare", name, "holdout-base").exit_code == 0


def test_snapshot_name_of_100_characters_kept_longer_refused(base, conn):
    ok = "S" * 99 + "ä"
    assert _cli("classify", "--date", REF, "--snapshot", ok).exit_code == 0
    assert _snap_rows(conn, ok) == base
    long = "Ü" * 200
    _refused(_cli("classify", "--date", REF, "--snapshot", long), "200 characters long", "at most 100")
    assert _snap_count(conn, long) == 0


@pytest.mark.parametrize("name,needle", [("", "needs a name"), ("   ", "needs a name"),
                                         (" mev-2026", "begins or ends with a blank"),
                                         ("mev\n2026", "control character"), ("mev\t2026", "control character")])
def test_blank_or_broken_snapshot_names_are_refused(base, conn, name, needle):
    before = _one(conn, "SELECT count(*) FROM registry.gigabit_snapshot")
    _refused(_cli("classify", "--date", REF, "--snapshot", name), needle)
    assert _one(conn, "SELECT count(*) FROM registry.gigabit_snapshot") == before


def test_an_existing_name_again_is_replaced_and_the_command_says_so(base, conn):
    assert _cli("classify", "--programme", "gigabit-rl-2.0-2023", "--date", REF, "--snapshot", "holdout-again"
                ).exit_code == 0
    r = _cli("classify", "--programme", "gigabit-rl-2.0-2024", "--date", REF, "--snapshot", "holdout-again")
    assert r.exit_code == 0, r.output
    assert "replaced the earlier snapshot 'holdout-again' (gigabit-rl-2.0-2023" in _flat(r)
    assert _snap_count(conn, "holdout-again") == 1 and _snap_rows(conn, "holdout-again") == base
    assert _one(conn, "SELECT programme FROM registry.gigabit_snapshot WHERE id = 'holdout-again'") == \
        "gigabit-rl-2.0-2024"
    assert "replaced" not in _flat(_cli("classify", "--date", REF, "--snapshot", "holdout-fresh"))


# ------------------------------------------------------------------------------------------------ reference dates
def test_reference_date_in_german_form_and_by_its_long_name(base, conn):
    r = _cli("classify", "--date", "31.12.2025", "--snapshot", "holdout-de-date")
    assert r.exit_code == 0, r.output
    assert str(_one(conn, "SELECT reference_date FROM registry.gigabit_snapshot WHERE id = 'holdout-de-date'")) == \
        "2025-12-31"
    r = _cli("classify", "--reference-date", "2026-01-02", "--snapshot", "holdout-long-option")
    assert r.exit_code == 0, r.output
    assert str(_one(conn, "SELECT reference_date FROM registry.gigabit_snapshot WHERE id = 'holdout-long-option'"
                    )) == "2026-01-02"


@pytest.mark.parametrize("value,needle", [("2025-02-30", "does not exist"), ("31/12/2025", "is not a date"),
                                          ("morgen", "is not a date"), ("9999-12-31", "outside 2000–2099"),
                                          ("1999-12-31", "outside 2000–2099")])
def test_invalid_reference_dates_are_refused_before_anything_is_written(base, conn, value, needle):
    # 2025-02-30 and 31/12/2025 were tracebacks (date.fromisoformat); 9999-12-31 one in the planning horizon
    name = f"holdout-bad-date-{value}"
    _refused(_cli("classify", "--date", value, "--snapshot", name), needle)
    assert _snap_count(conn, name) == 0
    _refused(_cli("classify", "--date", value), needle)


def test_future_and_pre_2015_reference_dates(base, conn):
    future = _cli("classify", "--date", "2031-01-01", "--snapshot", "holdout-2031")
    assert future.exit_code == 0 and "outside the validity" not in future.output
    assert _snap_rows(conn, "holdout-2031") == base
    # the shipped plans lie before 2031: none counts, so no address is less eligible than at the base date
    assert _one(conn, "SELECT count(*) FROM registry.gigabit_classification WHERE snapshot_id = 'holdout-2031' "
                      "AND binding_plan") == 0
    old = _cli("classify", "--date", "2014-06-01", "--snapshot", "holdout-2014")
    assert old.exit_code == 0
    assert "outside the validity of gigabit-rl-2.0-2024" in _flat(old)
    assert "outside the validity" in _one(conn, "SELECT warning FROM registry.gigabit_snapshot "
                                                "WHERE id = 'holdout-2014'")


# ------------------------------------------------------------------------------------------------ own programme files
def _own(tmp_path: Path, edit, name: str = "stadt.yaml", raw: bytes | None = None) -> Path:  # noqa: ANN001
    f = tmp_path / name
    if raw is not None:
        f.write_bytes(raw)
        return f
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    edit(data)
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return f


def _set(key: str, value):  # noqa: ANN001, ANN202
    return lambda d: d.__setitem__(key, value)


@pytest.mark.parametrize("edit,needles", [
    (lambda d: d["served_if"][0].__setitem__("down_mbps", "100 Mbit/s"),
     ["served_if.0.down_mbps", "'100 Mbit/s'", "plain numbers in Mbit/s"]),
    (lambda d: d.pop("gigabit_technologies"), ["gigabit_technologies: Field required"]),
    (_set("binding_plan_only", False), ["binding_plan_only: Extra inputs are not permitted"]),
    (_set("valid_from", "01.01.2024"), ["valid_from", "'01.01.2024'", "dates as 2024-01-01"]),
    (_set("valid_to", "2020-01-01"), ["valid_to is before valid_from"]),
])
def test_own_programme_file_faults_are_named_by_key(base, conn, tmp_path, edit, needles):
    # an unknown (misspelt) key used to be ignored silently: binding_plan_only stayed true
    f = _own(tmp_path, edit)
    _refused(_cli("classify", "--programme", str(f), "--date", REF, "--snapshot", "holdout-own-bad"),
             "stadt.yaml is not a valid programme", *needles)
    assert _snap_count(conn, "holdout-own-bad") == 0


@pytest.mark.parametrize("raw,needle", [
    (b"id: x\nserved_if: [{down_mbps: 300\n", "is not valid YAML (line"),
    ("id: stadt\ntitle: Förderung\n".encode("latin-1"), "is not UTF-8 text"),
    (b"", "it holds NoneType"), (b"- a\n- b\n", "it holds list"),
])
def test_own_programme_file_that_is_not_a_programme_at_all(base, tmp_path, raw, needle):
    # a YAML syntax error and a Latin-1 file were tracebacks
    f = _own(tmp_path, None, raw=raw)
    _refused(_cli("classify", "--programme", str(f), "--date", REF), needle)


def test_own_programme_snapshot_is_reported_with_its_file(base, conn, tmp_path):
    def edit(d: dict) -> None:
        d.update(id="stadt-aachen-2026", title="Aachener Sonderprogramm 2026", title_en="Aachen programme 2026")
        d["served_if"] = [{"down_mbps": 500, "up_mbps": 200}]

    f = _own(tmp_path, edit, name="aachen 2026.yml")
    r = _cli("classify", "--programme", str(f), "--date", REF, "--snapshot", "holdout-own")
    assert r.exit_code == 0, r.output
    assert _one(conn, "SELECT programme FROM registry.gigabit_snapshot WHERE id = 'holdout-own'") == \
        "stadt-aachen-2026"
    out = tmp_path / "out"
    # the report used to fail with "unknown funding programme" and no way to give the definition; the snapshot
    # keeps its programme's definition (tests/test_gigabit_fixes9.py): the report needs no file
    kept = _cli("report", "--snapshot", "holdout-own", "--out", str(tmp_path / "kept"))
    assert kept.exit_code == 0, kept.output
    assert "Aachener Sonderprogramm 2026" in (tmp_path / "kept" / "report.html").read_text(encoding="utf-8")
    _refused(_cli("report", "--snapshot", "holdout-own", "--programme", "gigabit-rl-2.0-2024", "--out", str(out)),
             "classified under 'stadt-aachen-2026', not 'gigabit-rl-2.0-2024'")
    assert not out.exists()
    ok = _cli("report", "--snapshot", "holdout-own", "--programme", str(f), "--out", str(out))
    assert ok.exit_code == 0, ok.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Aachener Sonderprogramm 2026" in page and "500 Mbit/s down and 200 up" in page


# ------------------------------------------------------------------------------------------------ funding-area edges
@pytest.mark.parametrize("args,needle", [
    (["--max-addresses", "0"], "must be >= 1"), (["--max-addresses", "-5"], "must be >= 1"),
    (["--max-addresses", "1"], "min_addresses is larger than max_addresses"),
    (["--eur-per-m", "1.000"], "Invalid value for '--eur-per-m'"), (["--eur-per-m", "-1"], "must not be negative"),
    (["--eur-per-m", "nan"], "eur_per_m must be a finite number"),
    (["--eur-per-connection", "inf"], "eur_per_connection must be a finite number"),
    (["--link-distance", "nan"], "link_distance_m must be a finite number"),
    (["--max-cost", "0"], "below the cost of a single connection"),
])
def test_funding_area_parameters_at_their_edges_are_refused_before_any_file(base, tmp_path, args, needle):
    # nan and inf used to run through: costs of nan € in the report and the GeoPackage
    out = tmp_path / "out"
    _refused(_cli("report", "--snapshot", "holdout-base", "--out", str(out), *args), needle)
    assert not out.exists()


def test_one_address_per_area_and_free_trenches(base, conn, tmp_path):
    out = tmp_path / "one"
    r = _cli("report", "--snapshot", "holdout-base", "--out", str(out), "--min-addresses", "1", "--max-addresses",
             "1", "--eur-per-m", "0")
    assert r.exit_code == 0, r.output
    areas = pyogrio.read_dataframe(out / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    eligible = _one(conn, "SELECT count(*) FROM registry.gigabit_classification WHERE snapshot_id = 'holdout-base' "
                          "AND eligible")
    assert (areas["addresses"] == 1).all() and len(areas) == eligible
    assert (areas["cost_eur"] == 800).all() and (areas["eur_per_m"] == 0).all()
    assert list(areas["rank"]) == list(range(1, len(areas) + 1))


def test_a_billion_euros_per_metre_is_printed_in_german(base, tmp_path):
    r = _cli("report", "--snapshot", "holdout-base", "--out", str(tmp_path), "--eur-per-m", "1e9")
    assert r.exit_code == 0, r.output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "1.000.000.000 €/m" in page
    areas = pyogrio.read_dataframe(tmp_path / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    assert (areas["cost_eur"] > 1e9).all() and areas["cost_eur"].notna().all()


# ------------------------------------------------------------------------------------------------ report folders
def test_report_into_a_folder_with_spaces_and_umlauts_numbers_in_german(base, conn, tmp_path):
    out = tmp_path / "Gigabit Bericht Köln – Straßen"
    r = _cli("report", "--snapshot", "holdout-base", "--out", str(out))
    assert r.exit_code == 0, r.output
    page = (out / "report.html").read_text(encoding="utf-8")
    counts = {r["class_de"]: r["n"] for r in conn.execute(
        "SELECT class_de, count(*) AS n FROM registry.gigabit_classification WHERE snapshot_id = 'holdout-base' "
        "GROUP BY 1").fetchall()}
    conn.rollback()
    for klass, n in counts.items():
        german = f"{n:,}".replace(",", ".")
        assert re.search(rf"<td>{klass} / [a-z ]+</td><td>{re.escape(german)}</td>", page), (klass, german)
        if n >= 1000:
            assert f"<td>{n:,}</td>" not in page  # never the English thousands separator in a table
    assert "imperial: false" in (out / "map.html").read_text(encoding="utf-8")
    assert "OpenStreetMap" in page and "ODbL" in page
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no scratch folder of the staged write left


def test_an_older_report_in_the_folder_is_replaced_whole(base, conn, tmp_path):
    assert _cli("classify", "--programme", "gigabit-rl-2.0-2023", "--date", REF, "--snapshot", "holdout-older"
                ).exit_code == 0
    assert _cli("report", "--snapshot", "holdout-older", "--out", str(tmp_path)).exit_code == 0
    (tmp_path / "notiz.txt").write_text("meine Notiz", encoding="utf-8")
    assert _cli("report", "--snapshot", "holdout-base", "--out", str(tmp_path)).exit_code == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "holdout-base" in page and "holdout-older" not in page
    rows = list(csv.reader(io.StringIO((tmp_path / "eligible_addresses.csv").read_text(encoding="utf-8-sig")),
                           delimiter=";"))
    assert len(rows) - 1 == _one(conn, "SELECT count(*) FROM registry.gigabit_classification "
                                       "WHERE snapshot_id = 'holdout-base' AND eligible")
    assert (tmp_path / "notiz.txt").read_text(encoding="utf-8") == "meine Notiz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assets", "eligible_addresses.csv", "gigabit.gpkg",
                                                          "map.html", "notiz.txt", "report.html"]
    # the map opens offline: every local script and style it names is there
    local = re.findall(r'(?:src|href)="(assets/[^"]+)"', (tmp_path / "map.html").read_text(encoding="utf-8"))
    assert local and all((tmp_path / a).is_file() for a in local)


def test_a_failure_while_writing_leaves_the_earlier_report_whole(base, tmp_path, monkeypatch):
    assert _cli("report", "--snapshot", "holdout-base", "--out", str(tmp_path)).exit_code == 0
    def files() -> dict[str, bytes]:
        return {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    before = files()
    from netzatlas.reports import gigabit_report

    def disk_full(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gigabit_report, "_map", disk_full)
    _refused(_cli("report", "--snapshot", "holdout-base", "--out", str(tmp_path), "--eur-per-m", "90"),
             "No space left on device")
    assert files() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "assets", "eligible_addresses.csv", "gigabit.gpkg", "map.html", "report.html"]


def test_report_into_a_file_or_below_one_is_refused_before_the_work(base, tmp_path):
    f = tmp_path / "bericht.html"
    f.write_text("alt", encoding="utf-8")
    _refused(_cli("report", "--snapshot", "holdout-base", "--out", str(f)), "is a file, not a folder")
    _refused(_cli("report", "--snapshot", "holdout-base", "--out", str(f / "unter")), "lies below the file")
    assert f.read_text(encoding="utf-8") == "alt" and sorted(tmp_path.iterdir()) == [f]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to run as nobody")
def test_report_into_a_read_only_folder_is_refused(base, tmp_path):
    """As the user 'nobody' (root may write anywhere): the installed command, as a subprocess."""
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="holdout-ro-"))  # pytest's folders are closed to other users
    top.chmod(0o755)
    ro, home = top / "nur-lesen", top / "home"
    ro.mkdir(mode=0o555)
    home.mkdir(mode=0o777)
    ro.chmod(0o555)
    home.chmod(0o777)
    env = {**os.environ, "NETZATLAS_HOME": str(home), "MPLCONFIGDIR": str(home), "HOME": str(home),
           "COLUMNS": "200", "NO_COLOR": "1"}
    exe = str(Path(sys.executable).with_name("netzatlas"))
    r = subprocess.run(["runuser", "-u", "nobody", "--", exe, "gigabit", "report", "--snapshot", "holdout-base",
                        "--out", str(ro)], capture_output=True, text=True, env=env, timeout=300)
    text = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2, text
    assert "no permission to write into" in text and "Traceback" not in text
    assert list(ro.iterdir()) == []
    shutil.rmtree(top)


def test_report_where_no_folder_can_be_made_is_refused_before_the_work(base, tmp_path, monkeypatch):
    """/proc exists, but not even root can make a folder there: refused with the system's reason before the funding
    areas are computed (it was refused only when the report was written)."""
    def never(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the funding areas were computed although the report cannot be written")

    monkeypatch.setattr("netzatlas.gigabit.funding_areas.funding_areas", never)
    _refused(_cli("report", "--snapshot", "holdout-base", "--out", "/proc/netzatlas-bericht"),
             "cannot write into /proc/netzatlas-bericht: No such file or directory / kann nicht schreiben")
    assert not Path("/proc/netzatlas-bericht").exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to run as nobody")
@pytest.mark.parametrize("command,needle", [
    (["gigabit", "report", "--snapshot", "holdout-base"], "no permission to write into {out} / keine Schreibrechte"),
    (["charging", "gaps"], "the output folder {out} cannot be written: Permission denied ({out})")])
def test_report_below_a_folder_one_may_not_look_into_is_refused(base, command, needle):
    """As the user 'nobody': --out below a folder closed to others (its contents cannot even be listed) is refused
    with the folder's name, never a traceback (the charging report's check raised PermissionError)."""
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="holdout-closed-"))
    top.chmod(0o755)
    closed, home = top / "geschlossen", top / "home"
    (closed / "bericht").mkdir(parents=True)
    home.mkdir()
    closed.chmod(0o700)
    home.chmod(0o777)
    out = closed / "bericht" / "neu"
    env = {**os.environ, "NETZATLAS_HOME": str(home), "MPLCONFIGDIR": str(home), "HOME": str(home),
           "COLUMNS": "300", "NO_COLOR": "1"}
    exe = str(Path(sys.executable).with_name("netzatlas"))
    try:
        r = subprocess.run(["runuser", "-u", "nobody", "--", exe, *command, "--out", str(out)], capture_output=True,
                           text=True, env=env, timeout=300)
        text = " ".join((r.stdout + r.stderr).split())
        assert r.returncode == 2, text
        assert needle.format(out=out) in text and "Traceback" not in text, text
        assert list((closed / "bericht").iterdir()) == []
    finally:
        shutil.rmtree(top)


# ---------------------------------------------------------------------------------------- missing snapshots
def test_report_and_compare_of_a_missing_or_deleted_snapshot(base, conn, tmp_path):
    assert _cli("classify", "--date", REF, "--snapshot", "holdout-deleted").exit_code == 0
    conn.execute("DELETE FROM registry.gigabit_snapshot WHERE id = 'holdout-deleted'")
    conn.commit()
    out = tmp_path / "out"
    _refused(_cli("report", "--snapshot", "holdout-deleted", "--out", str(out)), "there is no snapshot "
             "'holdout-deleted'", "holdout-base")
    assert not out.exists()
    # compare used to say "no address changed class or eligibility" for a misspelt name
    _refused(_cli("compare", "holdout-base", "holdout-deleted"), "there is no snapshot 'holdout-deleted'")
    _refused(_cli("compare", "holdout-bse", "holdout-base"), "there is no snapshot 'holdout-bse'")


def test_report_with_a_programme_or_date_classifies_now_instead_of_the_newest_snapshot(base, tmp_path):
    # with snapshots kept, --programme used to be ignored silently: the newest snapshot (another programme) came out
    r = _cli("report", "--programme", "bund-2015", "--date", "2019-06-01", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "the registry was classified now under bund-2015, reference date 2019-06-01, not kept" in _flat(r)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "01.06.2019" in page and "Bundesförderprogramm Breitband" in page  # the Stichtag as German dates read
    _refused(_cli("report", "--snapshot", "holdout-base", "--date", "2020-01-01", "--out", str(tmp_path)),
             "has the reference date 2026-11-26")


# ------------------------------------------------------------------------------------------------ at the same time
def test_two_classify_runs_at_the_same_time(base, conn):
    exe = str(Path(sys.executable).with_name("netzatlas"))
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}

    def start(name: str, programme: str) -> subprocess.Popen:
        return subprocess.Popen([exe, "gigabit", "classify", "--programme", programme, "--date", REF, "--snapshot",
                                 name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    runs = [start("holdout-par-a", "gigabit-rl-2.0-2023"), start("holdout-par-b", "gigabit-rl-2.0-2024"),
            start("holdout-par-same", "gigabit-rl-2.0-2023"), start("holdout-par-same", "gigabit-rl-2.0-2024")]
    outs = [p.communicate(timeout=600)[0] for p in runs]
    for p, out in zip(runs, outs, strict=True):
        assert p.returncode == 0 and "Traceback" not in out, out
    for name in ("holdout-par-a", "holdout-par-b", "holdout-par-same"):
        assert _snap_count(conn, name) == 1 and _snap_rows(conn, name) == base, name
    assert _one(conn, "SELECT count(DISTINCT programme) FROM registry.gigabit_snapshot WHERE id LIKE "
                      "'holdout-par-_'") == 2


# ------------------------------------------------------------------------------------------------ after a refused MEV
def test_classify_after_a_refused_market_exploration_equals_before(base, conn, tmp_path):
    supply = _one(conn, "SELECT count(*) FROM registry.broadband_supply WHERE deleted_at IS NULL")
    r = _cli("mev-import", str(MEV_DATA / "bad_rows.csv"), "--operator", "Telekom", "--mev", "mev-holdout",
             "--out", str(tmp_path / "mev"), "--date", REF)
    assert r.exit_code == 2, r.output
    assert _one(conn, "SELECT count(*) FROM registry.broadband_supply WHERE deleted_at IS NULL") == supply
    assert _cli("classify", "--date", REF, "--snapshot", "holdout-after-mev").exit_code == 0
    diff = _cli("compare", "holdout-base", "holdout-after-mev")
    assert diff.exit_code == 0 and "no address changed class or eligibility" in diff.output


# ------------------------------------------------------------------------------------------------ the API
def test_api_result_collection_by_a_missing_and_an_umlaut_snapshot(base, client, api_keys):
    name = "Stand Süd & Nord #2"
    h = auth(api_keys["analyst"])
    r = client.post("/processes/gigabit-classify/execution", headers=h,
                    json={"inputs": {"reference_date": "31.12.2025", "snapshot": name}})
    assert r.status_code == 200, r.text
    link = r.json()["collection"]
    assert link == f"/collections/gigabit_result/items?snapshot_id={quote(name, safe='')}"
    assert r.json()["reference_date"] == "2025-12-31"
    items = client.get(link + "&limit=5", headers=h)
    assert items.status_code == 200, items.text
    feats = items.json()["features"]
    assert feats and {f["properties"]["snapshot_id"] for f in feats} == {name}
    missing = client.get("/collections/gigabit_result/items", headers=h,
                         params={"snapshot_id": "kein-solcher-Stand", "limit": 5})
    assert missing.status_code == 200 and missing.json()["features"] == []
    snaps = client.post("/processes/gigabit-snapshots/execution", headers=auth(api_keys["reader"]),
                        json={"inputs": {}}).json()
    assert {s["collection"] for s in snaps["snapshots"] if s["id"] == name} == {link}


@pytest.mark.parametrize("inputs,needle", [({"reference_date": "2025-02-30"}, "does not exist"),
                                           ({"reference_date": "gestern"}, "is not a date"),
                                           ({"snapshot": "  "}, "needs a name"),
                                           ({"snapshot": "a\nb"}, "control character")])
def test_api_classify_refuses_bad_dates_and_names(base, client, api_keys, inputs, needle):
    # an impossible date was an internal error (date.fromisoformat in the process)
    r = client.post("/processes/gigabit-classify/execution", headers=auth(api_keys["analyst"]),
                    json={"inputs": inputs})
    assert r.status_code == 400, r.text
    assert needle in r.text


@pytest.mark.parametrize("field", ["eur_per_m", "eur_per_connection", "max_cost_eur"])
def test_api_funding_areas_refuse_nan_and_infinity(base, client, api_keys, field):
    # JSON as Python and JavaScript write it may carry NaN / Infinity: the areas used to be costed at nan €
    h = {**auth(api_keys["analyst"]), "Content-Type": "application/json"}
    for bad in ("NaN", "Infinity"):
        body = ('{"inputs": {"snapshot": "holdout-base", "link_distance_m": 150, "min_addresses": 5, '
                f'"eur_per_m": 100, "eur_per_connection": 800, "{field}": {bad}}}}}')
        r = client.post("/processes/gigabit-funding-areas/execution", headers=h, content=body)
        assert r.status_code == 400, r.text
        assert f"input '{field}' must be a finite number, got {bad.lower()[:3]}" in r.json()["detail"], r.text


def test_api_funding_areas_of_an_umlaut_snapshot_link_to_their_collection(base, client, api_keys):
    name = "Fördergebiete Süd/Ost"
    h = auth(api_keys["analyst"])
    assert client.post("/processes/gigabit-classify/execution", headers=h, json={"inputs": {
        "reference_date": REF, "snapshot": name}}).status_code == 200
    r = client.post("/processes/gigabit-funding-areas/execution", headers=h, json={"inputs": {
        "snapshot": name, "link_distance_m": 150, "min_addresses": 5, "max_addresses": 300, "eur_per_m": 100,
        "eur_per_connection": 800}})
    assert r.status_code == 200, r.text
    assert r.json()["collection"] == f"/collections/funding_area_result/items?snapshot_id={quote(name, safe='')}"
    items = client.get(r.json()["collection"] + "&limit=1000", headers=h).json()
    assert len(items["features"]) == r.json()["areas"] > 0
    assert {f["properties"]["snapshot_id"] for f in items["features"]} == {name}


# ------------------------------------------------------------------------------------------------ other registries
def new_registry(prefix: str = "netzatlas_holdout") -> tuple[str, str]:
    """A fresh, migrated database of its own (an empty registry) on the embedded test cluster: its URL and name
    (drop it with ``_cluster().drop_database(name)``)."""
    from netzatlas.registry import migrate
    from tests.conftest import _cluster

    if os.environ.get("NETZATLAS_TEST_DATABASE_URL"):
        pytest.skip("needs the embedded test cluster")
    cluster = _cluster()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    cluster.ensure_database(name)
    url = cluster.url(name)
    migrate.upgrade(url)
    return url, name


@contextmanager
def use(url: str) -> Iterator[str]:
    """The CLI pointed at ``url`` for the duration."""
    from netzatlas.config import get_settings

    old = os.environ["NETZATLAS_DATABASE_URL"]
    os.environ["NETZATLAS_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        yield url
    finally:
        os.environ["NETZATLAS_DATABASE_URL"] = old
        get_settings.cache_clear()


@contextmanager
def scratch_registry() -> Iterator[str]:
    """A fresh, migrated database of its own (an empty registry), the CLI pointed at it for the duration."""
    from tests.conftest import _cluster

    url, name = new_registry()
    try:
        with use(url):
            yield url
    finally:
        _cluster().drop_database(name)


@contextmanager
def scratch_register(addresses: object, source: str) -> Iterator[object]:
    """A scratch registry holding ``addresses`` (a GeoDataFrame for ``fibre_address``, loaded under ``source``) and
    a connection to it, rolled back and closed afterwards."""
    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.load import load_layers

    with scratch_registry() as url:
        load_layers({"fibre_address": addresses}, source=source, kind="test", url=url)
        c = connect(url)
        try:
            yield c
        finally:
            c.rollback()
            c.close()


STREETS = ['Am Bach; "Mühle"', "=HYPERLINK(\"http://x\")", "Öllerweg"]


def _street_registry(url: str, supply_kind: str | None) -> list[str]:
    """Eighteen addresses on three streets whose names hold ; \" and a formula; optionally every one gigabit."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.load import load_layers

    pts = [Point(6.0800 + (i % 6) * 0.0003, 50.7700 + (i // 6) * 0.0003) for i in range(18)]
    addrs = gpd.GeoDataFrame({"external_id": [f"H{i}" for i in range(18)], "street": [STREETS[i // 6] for i in
                                                                                       range(18)],
                              "house_number": [str(12 - i % 6) for i in range(18)], "postcode": "52062",
                              "city": "Aachen"}, geometry=pts, crs=4326)
    load_layers({"fibre_address": addrs}, source="holdout-streets", kind="test", url=url)
    with connect(url) as c:
        ids = [r["id"] for r in c.execute("SELECT id::text AS id FROM registry.fibre_address").fetchall()]
    if supply_kind == "gigabit":
        gigabit_store.write_supply(pd.DataFrame({
            "address_id": ids, "operator": "NetAachen", "technology": "ftth", "down_mbps": 1000.0, "up_mbps": 1000.0,
            "status": "available", "planned_date": None, "binding": False}), source="holdout-ftth", url=url)
    return ids


def test_an_empty_registry_classifies_and_reports_nothing_without_failing(base, tmp_path):
    with scratch_registry():
        r = _cli("classify", "--date", REF, "--snapshot", "leer")
        assert r.exit_code == 0, r.output
        assert "eligible addresses: 0 of 0" in _flat(r)
        rep = _cli("report", "--snapshot", "leer", "--out", str(tmp_path))
        assert rep.exit_code == 0, rep.output
        assert "eligible addresses: 0; funding areas: 0" in _flat(rep)
        page = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert "Fördergebiete / funding areas (0)" in page
        rows = (tmp_path / "eligible_addresses.csv").read_text(encoding="utf-8-sig").splitlines()
        assert len(rows) == 1 and rows[0].startswith("Straße / street;")


def test_no_supply_at_all_makes_every_address_a_white_spot(base, tmp_path):
    with scratch_registry() as url:
        _street_registry(url, None)
        r = _cli("classify", "--date", REF, "--snapshot", "ohne-versorgung")
        assert r.exit_code == 0, r.output
        assert "eligible addresses: 18 of 18" in _flat(r)
        rep = _cli("report", "--out", str(tmp_path))
        assert rep.exit_code == 0, rep.output
        areas = pyogrio.read_dataframe(tmp_path / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
        assert areas["addresses"].sum() == 18
        assert "Fördergebiete / funding areas (" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_everything_gigabit_reports_no_white_spot_without_dividing_by_zero(base, tmp_path):
    with scratch_registry() as url:
        _street_registry(url, "gigabit")
        r = _cli("classify", "--date", REF, "--snapshot", "alles-gigabit")
        assert r.exit_code == 0, r.output
        assert "eligible addresses: 0 of 18" in _flat(r)
        rep = _cli("report", "--snapshot", "alles-gigabit", "--out", str(tmp_path))
        assert rep.exit_code == 0, rep.output
        page = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert "Fördergebiete / funding areas (0)" in page
        assert not re.search(r"<td>(nan|inf|-inf|NaN)</td>", page)
        assert len((tmp_path / "eligible_addresses.csv").read_text(encoding="utf-8-sig").splitlines()) == 1


def test_csv_opens_in_german_excel_with_semicolons_quotes_and_formulas_in_street_names(base, tmp_path):
    with scratch_registry() as url:
        _street_registry(url, None)
        assert _cli("classify", "--date", REF, "--snapshot", "strassen").exit_code == 0
        assert _cli("report", "--snapshot", "strassen", "--out", str(tmp_path)).exit_code == 0
        raw = (tmp_path / "eligible_addresses.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        header, body = rows[0], rows[1:]
        assert len(body) == 18 and all(len(r) == len(header) for r in body)
        street = [r[header.index("Straße / street")] for r in body]
        # sorted by street, then house number as a number (7 before 12); the formula made inert with a '
        assert street[:6] == ["'=HYPERLINK(\"http://x\")"] * 6
        assert set(street[6:12]) == {'Am Bach; "Mühle"'} and set(street[12:]) == {"Öllerweg"}
        assert [r[header.index("Hausnummer / house number")] for r in body[:6]] == ["7", "8", "9", "10", "11", "12"]
        lon = header.index("Länge (WGS84) / longitude")
        assert all(re.fullmatch(r"6,\d+", r[lon]) for r in body)
