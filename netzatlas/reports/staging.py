"""Where an analysis writes its files: the output folder checked before the work starts, and the run's files written
into a hidden folder beside the old results and moved over them only once all are written (standard library only:
the CLI imports this without numpy)."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netzatlas.errors import InvalidParameter

#: the scratch folder's name prefix (hidden; never left behind)
STAGE_PREFIX = ".partial-"
_FOLDER_HINT = "give a folder with --out"
_WRITE_HINT = "give a folder you may write to with --out"


@dataclass(frozen=True)
class Wording:
    """What a refused output folder is told with: format strings over ``target`` (the folder asked for), ``path``
    (the folder or file in the way) and ``error`` (the system's reason). The defaults are the analyses' English;
    the gigabit report has its own in German and English."""

    is_file: str = "the output folder {target} cannot be written: {path} is a file"
    below_file: str = "the output folder {target} cannot be written: {path} is a file"
    no_permission: str = "the output folder {target} cannot be written: {error} ({path})"
    unwritable: str = "the output folder {target} cannot be written: {error} ({path})"
    made_file: str = "the output folder {target} is a file"
    cannot_create: str = "cannot create the output folder {target}: {error}"
    cannot_stage: str = "cannot write into the output folder {target}: {error}"

    def refuse(self, text: str, target: Path, path: Path | None = None, exc: OSError | None = None,
               hint: str = _WRITE_HINT) -> InvalidParameter:
        error = (exc.strerror or str(exc)) if exc is not None else ""
        return InvalidParameter(text.format(target=target, path=path, error=error), hint=hint)


ENGLISH = Wording()


def writable_folder(target: Path, wording: Wording = ENGLISH) -> Path:
    """``target`` when it is (or can become) a folder we may write to: refused (InvalidParameter naming it) before
    the analysis runs — not after minutes of work — when it or a folder above it is a file, or the nearest existing
    folder cannot be written (a scratch folder is made there and removed at once; nothing is left) or not even
    looked into."""
    target = Path(target)
    for path in (target, *target.parents):
        try:
            exists = path.exists()
        except PermissionError as exc:  # a folder above that one may not even look into
            raise wording.refuse(wording.no_permission, target, target, exc) from exc
        if exists:
            if not path.is_dir():
                raise wording.refuse(wording.is_file if path == target else wording.below_file, target, path,
                                     hint=_FOLDER_HINT)
            try:
                Path(tempfile.mkdtemp(prefix=".netzatlas-check-", dir=path)).rmdir()
            except OSError as exc:
                text = wording.no_permission if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else \
                    wording.unwritable
                raise wording.refuse(text, target, path, exc) from exc
            break
    return target


def output_folder(target: Path, wording: Wording = ENGLISH) -> Path:
    """The output folder, created; refused (InvalidParameter) when it is a file or cannot be created — before
    anything is written."""
    if target.exists() and not target.is_dir():
        raise wording.refuse(wording.made_file, target, target, hint=_FOLDER_HINT)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise wording.refuse(wording.cannot_create, target, target, exc) from exc
    return target


@contextmanager
def staged_outputs(target: Path, stale: list[Path] | None = None, wording: Wording = ENGLISH) -> Iterator[Path]:
    """A hidden scratch folder inside ``target`` to write a run's files into. When the block ends normally they
    replace the older results of the same names (each file in one step, HTML last); on an error or Ctrl-C nothing
    is moved, the older results stay as they were and the scratch folder is removed. ``stale``: older result files
    the new run replaces as a whole (removed when the run did not write them again). Refused (InvalidParameter
    naming the folder) when ``target`` cannot be written."""
    output_folder(target, wording)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=target))
    except OSError as exc:
        raise wording.refuse(wording.cannot_stage, target, target, exc) from exc
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
