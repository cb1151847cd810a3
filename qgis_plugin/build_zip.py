"""Build the installable plugin zip (a top-level folder named like the package, as QGIS expects):
    python qgis_plugin/build_zip.py  →  dist/netzatlas_qgis-<version>.zip"""

from __future__ import annotations

import configparser
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "netzatlas_qgis"


def version() -> str:
    cfg = configparser.ConfigParser()
    cfg.read(PACKAGE / "metadata.txt", encoding="utf-8")
    return cfg["general"]["version"]


def build(out_dir: Path | None = None) -> Path:
    out = (out_dir or HERE.parent / "dist") / f"netzatlas_qgis-{version()}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(PACKAGE.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc",):
                z.write(f, Path("netzatlas_qgis") / f.relative_to(PACKAGE))
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
