"""What README.md and docs/*.md say, checked against the code (issue #14: the docs as a new user reads them).

tests/test_readme_commands.py runs the documented commands; this module checks the claims around them: every
``netzatlas …`` command and option named anywhere in the docs exists, the defaults the docs state are the code's,
the output files they name are written by the code, and docs/architecture.md names the modules, CLI groups,
migrations and tables that are there."""

from __future__ import annotations

import re
from pathlib import Path

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
