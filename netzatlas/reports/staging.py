"""Where an analysis writes its files: the output folder checked before the work starts, and the run's files written
into a hidden folder beside the old results and moved over them only once all are written (standard library only:
the CLI imports this without numpy)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netzatlas.errors import InvalidParameter

#: the scratch folder's name prefix (hidden; never left behind)
STAGE_PREFIX = ".partial-"


def writable_folder(target: Path) -> Path:
    """``target`` when it is (or can become) a folder we may write to: refused (InvalidParameter naming it) before
    the analysis runs — not after minutes of work — when it or a folder above it is a file, or the nearest existing
    folder cannot be written (a scratch folder is made there and removed at once; nothing is left)."""
    for path in (target, *target.parents):
        if path.exists():
            if not path.is_dir():
                raise InvalidParameter(f"the output folder {target} cannot be written: {path} is a file",
                                       hint="give a folder with --out")
            try:
                Path(tempfile.mkdtemp(prefix=".netzatlas-check-", dir=path)).rmdir()
            except OSError as exc:
                raise InvalidParameter(f"the output folder {target} cannot be written: {exc.strerror or exc} "
                                       f"({path})", hint="give a folder you may write to with --out") from exc
            break
    return target


def output_folder(target: Path) -> Path:
    """The output folder, created; refused (InvalidParameter) when it is a file or cannot be created — before
    anything is written."""
    if target.exists() and not target.is_dir():
        raise InvalidParameter(f"the output folder {target} is a file", hint="give a folder with --out")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidParameter(f"cannot create the output folder {target}: {exc.strerror or exc}",
                               hint="give a folder you may write to with --out") from exc
    return target


@contextmanager
def staged_outputs(target: Path, stale: list[Path] | None = None) -> Iterator[Path]:
    """A hidden scratch folder inside ``target`` to write a run's files into. When the block ends normally they
    replace the older results of the same names (each file in one step, HTML last); on an error or Ctrl-C nothing
    is moved, the older results stay as they were and the scratch folder is removed. ``stale``: older result files
    the new run replaces as a whole (removed when the run did not write them again). Refused (InvalidParameter
    naming the folder) when ``target`` cannot be written."""
    output_folder(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=target))
    except OSError as exc:
        raise InvalidParameter(f"cannot write into the output folder {target}: {exc.strerror or exc}",
                               hint="give a folder you may write to with --out") from exc
    try:
        yield tmp
        written = {f.name for f in tmp.iterdir()}
        for f in sorted(tmp.iterdir(), key=lambda f: (f.suffix == ".html", f.name)):
            dest = target / f.name
            if f.is_dir():
                if dest.is_dir():  # a map's static assets: the same files every run, the ones in place stay
                    continue
                if dest.exists():
                    dest.unlink()
            os.replace(f, dest)
        for old in stale or []:  # only once the new files are in place
            if old.name not in written:
                old.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
