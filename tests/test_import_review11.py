"""What the review of the eleventh session found in the new import paths, each through ``netzatlas import file``:
a gzipped file's default source is the name inside (``lampen.csv.gz`` is the source ``lampen``, as ``lampen.csv``
was: the same lamps were stored twice); a plain tar is refused as an archive (also one named ``.csv``, which was
read with the tar block as its header); a cut-off UTF-16 GeoJSON is refused with a sentence (was a traceback); a
Windows-1252 file whose only special characters are German quotes „…“ is not told to use cp850 (its 0x84 / 0x93
are cp850's ä and ô: following that hint garbled the quotes)."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from tests.conftest import remove_source_rows
from tests.test_inputs_holdout import _refused, _run

CSV = "id;lon;lat;hoehe\nR1;6.0441;50.7912;6,5\nR2;6.0452;50.7915;7,0\n"


@pytest.fixture(scope="module", autouse=True)
def _remove_rows(db_url):
    yield from remove_source_rows(db_url, "lampen-r11%")


def _lamps(conn, source: str) -> int:
    return conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s", [source]).fetchone()["n"]


def test_a_gzipped_file_has_the_source_of_the_file_inside(conn, tmp_path):
    plain = tmp_path / "lampen-r11.csv"
    plain.write_text(CSV, encoding="utf-8")
    args = ["--layer", "streetlight", "--map", "external_id=id", "--map", "height_m=hoehe"]
    code, out, _, _ = _run(conn, ["import", "file", str(plain), *args])
    assert code == 0 and _lamps(conn, "lampen-r11") == 2, out
    packed = tmp_path / "lampen-r11.csv.gz"
    packed.write_bytes(gzip.compress(CSV.encode("utf-8")))
    code, out, _, _ = _run(conn, ["import", "file", str(packed), *args])
    assert code == 0, out
    assert _lamps(conn, "lampen-r11") == 2 and _lamps(conn, "lampen-r11.csv") == 0, out  # updated, not stored twice
    assert "stored twice" not in out, out


@pytest.mark.parametrize("name", ["lamps.tar", "lamps.csv"])
def test_a_plain_tar_is_refused_as_an_archive(conn, tmp_path, name):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("lamps.csv")
        info.size = len(CSV.encode())
        tar.addfile(info, io.BytesIO(CSV.encode()))
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    _refused(conn, ["import", "file", str(path), "--layer", "streetlight", "--source", "lampen-r11-tar"],
             f"{name}: is a tar (.tar) archive, which cannot be read", "unpack it")


def test_a_cut_off_utf16_geojson_is_a_sentence(conn, tmp_path):
    text = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "U1"}, '
            '"geometry": {"type": "Point", "coordinates": [6.0441, 50.7912]}}]}')
    path = tmp_path / "powershell.geojson"
    path.write_bytes(text.encode("utf-16")[:-1])  # an odd number of bytes: cut off mid-character
    _refused(conn, ["import", "file", str(path), "--layer", "streetlight", "--source", "lampen-r11-u16"],
             "powershell.geojson: damaged UTF-16 text", "the file was cut off?")


def test_german_quotes_in_windows_1252_are_not_taken_for_cp850(conn, tmp_path):
    path = tmp_path / "hinweis.csv"
    path.write_bytes((CSV.replace("hoehe", "hinweis").replace("6,5", "„neu“").replace("7,0", "„alt“"))
                     .encode("cp1252"))
    out = _refused(conn, ["import", "file", str(path), "--layer", "streetlight", "--source", "lampen-r11-q"],
                   "is not valid UTF-8")
    assert "cp850" not in out and "cp1252" in out, out


def test_a_cp850_file_still_gets_the_cp850_hint(conn, tmp_path):
    path = tmp_path / "dos.csv"
    path.write_bytes(CSV.replace("hoehe", "straße").replace("6,5", "Königstraße").encode("cp850"))
    _refused(conn, ["import", "file", str(path), "--layer", "streetlight", "--source", "lampen-r11-dos"],
             "--encoding cp850")
