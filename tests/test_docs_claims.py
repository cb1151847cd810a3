"""What README.md and docs/*.md say, checked against the code (issue #14: the docs as a new user reads them).

tests/test_readme_commands.py runs the documented commands; this module checks the claims around them: every
``netzatlas …`` command and option named anywhere in the docs exists, the defaults the docs state are the code's,
the output files they name are written by the code, and docs/architecture.md names the modules, CLI groups,
migrations and tables that are there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")} | {
    f"docs/{p.name}": p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
ARCH = DOCS["docs/architecture.md"]
#: words after a command group in running text that are prose, not a subcommand ("`netzatlas db` and …")
PROSE = {"…", "and", "or", "is", "with", "to", "for", "the", "in", "a", "runs", "as", "command", "commands", "—"}


def _cli():
    import typer

    from netzatlas.cli.main import app

    return typer.main.get_command(app)


def _command(path: str):
    cmd = _cli()
    for word in path.split():
        cmd = cmd.commands[word]
    return cmd


def _option(path: str, opt: str):
    params = [p for p in _command(path).params if opt in p.opts]
    assert params, f"`netzatlas {path}` has no {opt}"
    return params[0].default


def test_every_documented_command_and_option_exists():
    """Each ``netzatlas <group> <command> … --option`` in the docs (code blocks and running text) names a command
    and options that `--help` lists (typos and renamed options fail here, before a reader tries them)."""
    root = _cli()
    wrong: set[tuple[str, str, str]] = set()
    seen = 0
    for name, text in DOCS.items():
        for line in text.splitlines():
            for m in re.finditer(r"netzatlas((?: [a-z][\w-]*)+)((?:(?!netzatlas)[^`|#])*)", line):
                words, cmd, used = m.group(1).split(), root, 0
                for w in words:
                    if not hasattr(cmd, "commands") or w not in cmd.commands:
                        break
                    cmd, used = cmd.commands[w], used + 1
                if used == 0:
                    continue
                seen += 1
                if hasattr(cmd, "commands"):
                    if used < len(words) and words[used] not in PROSE:
                        wrong.add((name, "no such command", " ".join(words[:used + 1])))
                    continue
                rest = " ".join(words[used:]) + " " + m.group(2)
                known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
                for opt in set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", rest.split("  #")[0])) - known:
                    wrong.add((name, " ".join(words[:used]), opt))
    assert seen > 150, seen  # the docs do name the commands (the pattern still finds them)
    assert not wrong, sorted(wrong)


def test_the_defaults_the_docs_state_are_the_codes():
    from netzatlas.config import Settings
    from netzatlas.coverage import pathloss

    s = Settings(_env_file=None)
    claims = [  # (doc, the words it says, the value in the code, the value the words mean)
        ("README.md", "`NETZATLAS_DB_PORT` (default 54329)", s.db_port, 54329),
        ("README.md", "`NETZATLAS_STORAGE_SRID` (default 25832)", s.storage_srid, 25832),
        ("README.md", "http://127.0.0.1:8080/", s.api_port, 8080),
        ("docs/api.md", "`NETZATLAS_API_EXACT_COUNT_BELOW` (default 100,000)", s.api_exact_count_below, 100_000),
        ("docs/api.md", "`NETZATLAS_LIMIT_PAGE_BYTES`, default 32 MiB", s.limit_page_bytes, 32 * 2**20),
        ("docs/api.md", "`--forwarded-allow-ips` (default `127.0.0.1`", s.api_forwarded_allow_ips, "127.0.0.1"),
        ("docs/ocpi.md", "`NETZATLAS_MAX_DISTANCE_OUTSIDE_KM` (default 20 km)", s.max_distance_outside_km, 20),
        ("docs/ocpi.md", "(`--page-size`, default 1,000", _option("import ocpi", "--page-size"), 1000),
        ("docs/security.md", "`NETZATLAS_LIMIT_PROCESS_MIN_RESOLUTION_M` (default 5 m)",
         s.limit_process_min_resolution_m, 5),
        ("docs/security.md", "`NETZATLAS_LIMIT_PROCESS_CELLS` (default 25,000,000", s.limit_process_cells,
         25_000_000),
        ("docs/coverage-engine.md", "(default 20 %, `--high-loss-share`)", pathloss.HIGH_LOSS_SHARE, 0.2),
        ("docs/coverage-engine.md", "`--tile-size` (default 5 km", _option("mobile coverage", "--tile-size"), 5000),
        ("docs/coverage-engine.md", "`mast_request.coordination_weeks`, default 8",
         _option("mobile request create", "--weeks"), 8),
        ("docs/gigabit.md", "`--max-addresses` (default 1,500)", _option("gigabit report", "--max-addresses"), 1500),
        ("docs/gigabit.md", "`--max-cost` (€, default none)", _option("gigabit report", "--max-cost"), None),
        ("docs/gigabit.md", "`--min-addresses` (5)", _option("gigabit report", "--min-addresses"), 5),
        ("docs/gigabit.md", "`--link-distance` (150 m)", _option("gigabit report", "--link-distance"), 150),
    ]
    for doc, words, actual, meant in claims:
        assert words in re.sub(r"\s+", " ", DOCS[doc]), f"{doc} no longer says {words!r}: update this claim"
        assert actual == meant, f"{doc} says {words!r}, the code has {actual!r}"


def test_the_progress_the_docs_describe_is_the_codes():
    """The steps and phases docs/importers.md and docs/siting.md describe (the behaviour itself is asserted through
    the CLI in a terminal by tests/test_progress_holdout6.py, tests/test_export.py, tests/test_import_write_path.py)."""
    from netzatlas.cli._siting_progress import SOLVER_STEPS
    from netzatlas.registry.exporters.files import CHUNK_ROWS

    importers, siting = (re.sub(r"\s+", " ", DOCS[d]) for d in ("docs/importers.md", "docs/siting.md"))
    assert f"cursor, {CHUNK_ROWS:,} at a time" in importers and f"CSV and Excel in steps of {CHUNK_ROWS:,} rows" \
        in importers
    assert "one row per phase named with the layer (`reading streetlight`, `writing streetlight`)" in importers
    total = SOLVER_STEPS + 2  # reading the inputs, the solver's steps, writing
    assert f"WLAN: {total - 1} of {total} steps while the files are written" in siting
    assert "its time left is shown as unknown, `-:--:--`" in siting


def test_the_output_files_the_docs_name_are_written_by_the_code():
    """Every output file name in backticks (``charging_siting_map.html``, ``<operator>_summary.csv``, …) is one the
    package writes (its name is in the code), or an input the docs ask the reader to bring."""
    code = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in (ROOT / "netzatlas").rglob("*.py"))
    inputs = {p.name for p in (ROOT / "tests" / "data" / "readme").iterdir()}
    missing = []
    for doc, text in DOCS.items():
        for name in set(re.findall(r"`([\w<>*.-]+\.(?:gpkg|html|csv|tif|qgz|xlsx))`", text)):
            if name.startswith("rsrp_"):  # rsrp_<view>_<operator>_<technology>.tif: mobile_sites.run.raster_name
                assert "rsrp_{" in code or '"rsrp_"' in code or "f\"rsrp_" in code
                continue
            core = re.sub(r"<[^>]+>|\*", "", name)
            if name not in inputs and core not in code:
                missing.append((doc, name))
    assert not missing, missing


def test_the_qgis_plugin_zip_is_named_as_the_readme_says():
    from qgis_plugin.build_zip import version

    assert f"dist/netzatlas_qgis-{version()}.zip" in DOCS["README.md"]


# ------------------------------------------------------------------------------------ docs/architecture.md
def _tree() -> str:
    return ARCH.split("## The house", 1)[1].split("```", 2)[1]


def test_architecture_names_every_cli_group_main_py_wires():
    from netzatlas.cli.main import GROUPS

    wires = re.sub(r"\s+", " ", _tree().split("main.py wires", 1)[1].split("(_common.py", 1)[0]).strip()
    named = set(re.findall(r"\b([a-z]+)\b(?=,| \(|$)", wires))
    assert {cmd for _, _, cmds in GROUPS for cmd in cmds} <= named, (named, GROUPS)


def test_architecture_names_modules_that_exist():
    """Every ``name.py`` in the module tree under cli/ and registry/ is a file there, and every module of
    registry/ and registry/importers/ is named (a new module is described where a reader looks for it)."""
    tree = _tree()
    cli = tree.split("  cli/", 1)[1].split("\n  registry/", 1)[0]
    registry = tree.split("  registry/", 1)[1].split("\n  coverage/", 1)[0]
    in_cli = {p.stem for p in (ROOT / "netzatlas" / "cli").glob("*.py")}
    assert set(re.findall(r"\b(_?[a-z_]+)\.py\b", cli)) - {"sync_client"} <= in_cli
    assert (ROOT / "netzatlas" / "api" / "sync_client.py").is_file()
    importers = {p.stem for p in (ROOT / "netzatlas" / "registry" / "importers").glob("*.py")} - {"__init__"}
    exporters = {p.stem for p in (ROOT / "netzatlas" / "registry" / "exporters").glob("*.py")} - {"__init__"}
    own = {p.stem for p in (ROOT / "netzatlas" / "registry").glob("*.py")} - {"__init__"}
    named = set(re.findall(r"\b([a-z_]+)\.py\b", registry))
    assert named <= own | importers | exporters, named - (own | importers | exporters)
    assert own | importers | exporters <= named, (own | importers | exporters) - named


def test_architecture_migration_count_head_and_cited_revisions():
    versions = ROOT / "netzatlas" / "registry" / "migrations" / "versions"
    revs = sorted(p.stem for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    m = re.search(r"(\d+) revisions,\s+0001 … (\d{4}) \(head (\w+)\)", ARCH)
    assert m, "architecture.md states the number of revisions and the head"
    assert int(m.group(1)) == len(revs) and m.group(2) == revs[-1][:4] and m.group(3) == revs[-1], (m.groups(),
                                                                                                   revs[-3:])
    numbers = {r[:4] for r in revs}
    cited = set(re.findall(r"(?:revision|rev\.) (\d{4})", ARCH))
    assert cited and cited <= numbers, cited - numbers
    topics = {"0011": "point_indexes", "0012": "change_feed", "0016": "gigabit", "0018": "mev_storage",
              "0020": "extents", "0022": "ocpi", "0023": "vehicle", "0024": "bulk_history"}
    for number, topic in topics.items():  # the revisions cited for these subjects are the ones that did it
        assert number in cited and any(r.startswith(number) and topic in r for r in revs), (number, topic)


def test_architecture_tables_exist(conn):
    """The tables and views the registry section names are in a migrated database (in their schema)."""
    named = ["fibre_address", "mobile_site", "mobile_sector", "wlan_hotspot", "streetlight", "charging_point",
             "municipality", "population_grid", "poi", "building", "road", "candidate_site", "monument",
             "municipal_property", "broadband_supply", "mast_request", "value_reference", "organization",
             "collection_extent", "collection_extent_change", "layer_policy", "source_owner", "result_run",
             "gigabit_classification", "gigabit_result", "funding_area_result", "coverage_hole_result",
             "vehicle_count"]
    for name in named:
        assert f"`{name}`" in ARCH or f"registry.{name}" in ARCH, f"architecture.md no longer names {name}"
    rows = conn.execute("SELECT table_schema || '.' || table_name AS t FROM information_schema.tables "
                        "WHERE table_schema IN ('registry', 'audit')").fetchall()
    tables = {r["t"] for r in rows}
    assert {f"registry.{n}" for n in named} <= tables, {f"registry.{n}" for n in named} - tables
    assert {"audit.change", "audit.batch"} <= tables
    assert "registry.vl_status" in tables and "registry.vl_poi_category" in tables


def test_architecture_test_cluster_defaults(monkeypatch):
    """"tests/conftest.py starts the project's own embedded cluster (`/tmp/netzatlas-test-home`, port 54339)"."""
    monkeypatch.delenv("NETZATLAS_TEST_HOME", raising=False)
    monkeypatch.delenv("NETZATLAS_TEST_PORT", raising=False)
    from tests.conftest import _cluster

    c = _cluster()
    assert "(`/tmp/netzatlas-test-home`, port 54339)" in ARCH
    assert str(c.settings.home) == "/tmp/netzatlas-test-home" and c.settings.db_port == 54339


# ------------------------------------------------------------------- a new user follows the README (journey11)
def _readme_command(start: str) -> str:
    from tests.test_readme_commands import COMMANDS

    found = [c for f, c in COMMANDS if f == "README.md" and c.startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


def _netzatlas(*args: str):
    """The CLI in-process, as a user types it (exit code, output; never a traceback)."""
    from typer.testing import CliRunner

    from netzatlas.cli.main import app

    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), (res.exception, res.output)
    return res


def test_the_readme_says_where_its_sample_files_are_before_it_uses_them():
    """A new user copies `netzatlas import file lamps.gpkg …` and has no lamps.gpkg ("no such file"): the README
    names tests/data/readme/ before its first command that reads a sample, and every sample it names is there."""
    readme = DOCS["README.md"]
    samples = sorted(p.name for p in (ROOT / "tests" / "data" / "readme").iterdir())
    first_use = min(readme.index(f" {name}") for name in samples)
    assert "`tests/data/readme/`" in readme[:first_use], "README: say where the sample files are before using them"
    for name in samples:
        assert f"`{name}`" in readme[:first_use], f"README: name the sample {name} where it says where they are"


def test_the_readme_lists_every_document_of_docs():
    section = re.sub(r"\s+", " ", DOCS["README.md"].split("## Documentation", 1)[1])
    missing = [d for d in DOCS if d.startswith("docs/") and f"`{d}`" not in section]
    assert not missing, f"README's Documentation section does not name {missing}"


def test_the_readme_names_where_roots_cluster_files_live():
    """`netzatlas db status` as root shows the datadir under /var/lib/netzatlas, not NETZATLAS_HOME: the README says
    so (whoever backs up only NETZATLAS_HOME has no database)."""
    from netzatlas.registry.localdb import ROOT_CLUSTER_BASE

    readme = re.sub(r"\s+", " ", DOCS["README.md"])
    assert f"`{ROOT_CLUSTER_BASE}/cluster-<hash>`" in readme and "`NETZATLAS_HOME/pgdata`" in readme


def test_the_readmes_editor_may_edit_the_lamps_the_readme_imports(db_url, tmp_path):
    """README: `users add anna --org city --role editor` — "edits as anna, own org only". The lamps its own import
    command writes must belong to that organization (without `--owner` they belonged to none, and anna's edit in QGIS
    was refused: 'Objekt "SL-0001" gehört Organisation (keine)'). And `<id>` is what the README says: the `id`
    column of an export, its first 8 characters accepted by `db history`."""
    import csv
    import shlex

    from netzatlas.registry.db import connect
    from tests.test_gigabit_holdout import scratch_registry

    org = re.search(r"--org (\S+)", _readme_command("netzatlas users add anna")).group(1)
    words = shlex.split(_readme_command("netzatlas import file lamps.gpkg"))[1:]
    words[2] = str(ROOT / "tests" / "data" / "readme" / "lamps.gpkg")
    with scratch_registry() as url:
        res = _netzatlas(*words)
        assert res.exit_code == 0, res.output
        with connect(url) as c:
            owners = c.execute("SELECT owner_org::text AS o, count(*) AS n FROM registry.streetlight "
                               "GROUP BY 1").fetchall()
        assert [(r["o"], r["n"]) for r in owners] == [(org, 4)], owners
        assert ("the id column of an export (its first 8 characters suffice) or the external id (SL-0001)"
                in DOCS["README.md"])
        res = _netzatlas("db", "history", "streetlight", "SL-0001")  # the external id the README's file gives
        assert res.exit_code == 0 and "INSERT" in res.output, res.output
        res = _netzatlas("export", "streetlight", str(tmp_path / "lamps.csv"), "--source", "lamps")
        assert res.exit_code == 0, res.output
        with open(tmp_path / "lamps.csv", encoding="utf-8-sig", newline="") as f:
            fid = next(csv.DictReader(f))["id"]
        res = _netzatlas("db", "history", "streetlight", fid[:8])
        assert res.exit_code == 0 and fid in res.output and "INSERT" in res.output, res.output
        res = _netzatlas("db", "restore", "streetlight", fid[:8], "--version", "2")  # the README's line, as imported
        assert res.exit_code == 2 and "has no version 2" in res.output, res.output
        assert "after an edit: a new import has version 1 only" in DOCS["README.md"]


def test_gigabit_compare_counts_the_changes_as_the_docs_say(db_url):
    """`gigabit compare A B` prints how many addresses changed per pair of classes, not the addresses (the README said
    "which addresses changed class", docs/gigabit.md "lists the addresses"); the README's `compare mev-2025 mev-2026`
    on a registry without last year's snapshot is refused, which the README now says."""
    import pandas as pd

    from netzatlas.registry import gigabit_store
    from tests.test_gigabit_holdout import _street_registry, scratch_registry

    with scratch_registry() as url:
        ids = _street_registry(url, None)
        assert _netzatlas("gigabit", "classify", "--date", "2026-06-01", "--snapshot", "vorher").exit_code == 0
        gigabit_store.write_supply(pd.DataFrame({
            "address_id": ids, "operator": "NetAachen", "technology": "ftth", "down_mbps": 1000.0, "up_mbps": 1000.0,
            "status": "available", "planned_date": None, "binding": False}), source="docs-compare", url=url)
        assert _netzatlas("gigabit", "classify", "--date", "2026-06-01", "--snapshot", "nachher").exit_code == 0
        res = _netzatlas("gigabit", "compare", "vorher", "nachher")
        assert res.exit_code == 0, res.output
        assert "18 addresses changed" in res.output, res.output
        assert re.search(r"weiß / white\W+gigabitfähig / gigabit\W+ja / yes\W+nein / no\W+18", res.output), res.output
        assert not any(s in res.output for s in ("Öllerweg", "Mühle", "HYPERLINK")), res.output  # _street_registry's
        missing = _netzatlas("gigabit", "compare", "mev-2025", "nachher")
        assert missing.exit_code == 2 and "there is no snapshot 'mev-2025'" in missing.output, missing.output
    readme = _readme_command("netzatlas gigabit compare mev-2025 mev-2026")  # the comment is cut off: read the line
    line = next(ln for ln in DOCS["README.md"].splitlines() if ln.startswith(readme))
    assert "how many addresses changed" in line and "needs both snapshots" in line, line
    assert "--out FILE.csv" in line, line  # the addresses themselves
    gigabit = re.sub(r"\s+", " ", DOCS["docs/gigabit.md"])
    assert "compare <a> <b>` lists" not in gigabit and "`compare A B` lists" not in gigabit
    assert "compare <a> <b>` counts the addresses whose class or eligibility changed" in gigabit


@pytest.fixture(scope="module")
def demo_registry(db_url):
    """A registry of its own holding exactly what `netzatlas demo` imports (the figures the docs quote are the
    demo's: the shared test database collects other modules' features)."""
    from netzatlas.registry import demo
    from tests.conftest import _cluster
    from tests.test_gigabit_holdout import new_registry, use

    url, name = new_registry("netzatlas_docs_demo")
    try:
        demo.import_all(url)
        demo.conflate_charging(url)
        with use(url):
            yield url
    finally:
        _cluster().drop_database(name)


def test_the_wlan_siting_figure_of_docs_siting_is_the_demos(demo_registry, tmp_path):
    """docs/siting.md quoted "greedy 9,966 … exact optimum 9,985 (gap 0.19 %)"; the command now prints the improved
    answer, 9,985 = the optimum, gap 0.00 %."""
    res = _netzatlas("wifi", "siting", "--k", "15", "--out", str(tmp_path))
    assert res.exit_code == 0, res.output
    out = re.sub(r"\s+", " ", res.output)
    m = re.search(r"covered demand: ([\d,]+) of ([\d,]+) .* within ([\d.]+)% of the exact optimum ([\d,]+)", out)
    assert m, out
    covered, total, gap, optimum = m.groups()
    siting = re.sub(r"\s+", " ", DOCS["docs/siting.md"])
    assert f"15 new access points cover {covered} of {total} weighted demand — the exact optimum (gap {gap} %" \
        in siting, (covered, total, gap)
    assert covered == optimum


def test_the_demo_counts_docs_gigabit_quotes(demo_registry):
    """docs/gigabit.md: "On the Aachen extract 402 of 868 OSM businesses lie in such an area" and transport hubs
    "(Aachen: 4, among them Aachen Hbf, Bahnhofplatz 2)"."""
    from netzatlas.registry.db import connect

    with connect(demo_registry) as c:
        row = c.execute("SELECT count(*) FILTER (WHERE socio_economic = 'business') AS b, count(*) FILTER (WHERE "
                        "socio_economic = 'business' AND business_area) AS inside, count(*) FILTER (WHERE "
                        "socio_economic = 'transport_hub') AS hubs, bool_or(socio_economic = 'transport_hub' AND "
                        "street = 'Bahnhofplatz' AND house_number = '2') AS hbf FROM registry.fibre_address").fetchone()
    gigabit = re.sub(r"\s+", " ", DOCS["docs/gigabit.md"])
    assert f"On the Aachen extract {row['inside']} of {row['b']} OSM businesses lie in such an area" in gigabit, row
    assert f"(Aachen: {row['hubs']}, among them Aachen Hbf, Bahnhofplatz 2)" in gigabit and row["hbf"], row


def test_the_readmes_german_terms_have_their_english_alongside():
    """A reader without German meets these terms in the README: each has its English on the same line."""
    glossed = {"weiße/graue Flecken": "white and grey spots", "Stichtag": "reference date",
               "MEV": "market exploration", "weiß / hellgrau / dunkelgrau / schwarz / gigabitfähig":
                   "white / light grey / dark grey / black / gigabit"}
    lines = DOCS["README.md"].splitlines()
    for german, english in glossed.items():
        where = [ln for ln in lines if german in ln]
        assert where, f"README no longer says {german!r}: update this test"
        assert all(english in ln for ln in where), (german, english, where)


def test_an_exported_source_comes_back_as_the_readme_says(db_url, tmp_path):
    """The GIS person's round trip: export one source, edit, import. With the README's `--source lamps` the edited
    lamp is updated and nothing else; the same file without `--source` (renamed, as people do) comes back under its
    own source `lamps` (its column `source`), nothing stored twice (was: the lamps stored a second time under the
    file's name); an export of the whole layer (several sources) without `--source` is refused, the database as
    before — what the README says."""
    import shlex

    import pyogrio

    from netzatlas.registry.db import connect
    from tests.test_gigabit_holdout import scratch_registry

    readme = re.sub(r"\s+", " ", DOCS["README.md"])
    export = re.search(r"`(netzatlas export streetlight \S+ --source lamps)`", readme).group(1)
    back = re.search(r"`(netzatlas import file \S+ --layer streetlight --source lamps)`", readme).group(1)
    assert "An export of one source comes back under its own source also without `--source`" in readme
    assert "an export of several sources needs `--source` (refused without)" in readme
    words = shlex.split(_readme_command("netzatlas import file lamps.gpkg"))[1:]
    words[2] = str(ROOT / "tests" / "data" / "readme" / "lamps.gpkg")
    with scratch_registry() as url:
        assert _netzatlas(*words).exit_code == 0
        name = shlex.split(export)[3]
        res = _netzatlas(*shlex.split(export)[1:3], str(tmp_path / name), "--source", "lamps")
        assert res.exit_code == 0, res.output
        df = pyogrio.read_dataframe(tmp_path / name)
        df.loc[df["external_id"] == "SL-0002", "height_m"] = 12.5
        (tmp_path / name).unlink()  # the edit saved as the same file (one layer, as exported)
        pyogrio.write_dataframe(df, tmp_path / name, layer="streetlight")
        res = _netzatlas(*[str(tmp_path / w) if w == name else w for w in shlex.split(back)[1:]])
        assert res.exit_code == 0, res.output
        assert re.search(r"streetlight\W+0\W+1\W+3\W+0", res.output), res.output  # created, updated, unchanged
        with connect(url) as c:
            rows = c.execute("SELECT external_id, height_m, version FROM registry.streetlight ORDER BY 1").fetchall()
        assert [(r["external_id"], r["height_m"], r["version"]) for r in rows] == [
            ("SL-0001", 8.0, 1), ("SL-0002", 12.5, 2), ("SL-0003", 6.5, 1), ("SL-0004", 4.5, 1)], rows
        renamed = tmp_path / "lampen-bearbeitet.gpkg"
        (tmp_path / name).rename(renamed)
        res = _netzatlas("import", "file", str(renamed), "--layer", "streetlight")
        out = re.sub(r"\s+", " ", res.output)
        assert res.exit_code == 0 and re.search(r"streetlight\W+0\W+0\W+4\W+0", res.output), res.output
        assert "a netzatlas export of source 'lamps' (its column 'source'): imported under that source" in out, out
        assert "stored twice" not in out, out
        with connect(url) as c:
            assert c.execute("SELECT count(*) AS n FROM registry.streetlight").fetchone()["n"] == 4
        whole = tmp_path / "alle-leuchten.gpkg"
        df.assign(source=["lamps", "lamps", "kataster", "kataster"]).to_file(whole, layer="streetlight")
        res = _netzatlas("import", "file", str(whole), "--layer", "streetlight")
        out = re.sub(r"\s+", " ", res.output)
        assert res.exit_code == 2, out
        assert "a netzatlas export of 2 sources (lamps (2), kataster (2))" in out and "give --source" in out, out
        with connect(url) as c:
            assert c.execute("SELECT count(*) AS n FROM registry.streetlight").fetchone()["n"] == 4
