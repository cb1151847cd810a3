"""Shared CLI helpers: consoles, progress bars, error reporting."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from netzatlas.errors import ImportRejected, NetzatlasError

# soft wrap: rich does not break long lines (file paths stay whole for copy and paste); the terminal wraps them
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn netzatlas errors into a clear message and exit code 2 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ImportRejected as exc:
            err_console.print(f"[bold red]Import refused[/]: {exc.source}: {len(exc.rejects)} row(s) rejected; "
                              "the database is unchanged.")
            t = Table("row", "id", "reason", title="Rejected rows")
            for r in exc.rejects[:50]:
                t.add_row(str(r.row), escape(str(r.external_id or "")), escape(r.reason))
            err_console.print(t)
            if len(exc.rejects) > 50:
                err_console.print(f"… and {len(exc.rejects) - 50} more")
            if exc.hint:
                err_console.print(f"[yellow]Hint[/]: {escape(exc.hint)}")
            raise typer.Exit(2) from None
        except Exception as caught:
            exc = _as_netzatlas_error(caught)
            if exc is None:
                raise
            err_console.print(f"[bold red]Error[/]: {escape(exc.message)}")
            if exc.hint:
                err_console.print(f"[yellow]Hint[/]: {escape(exc.hint)}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _as_netzatlas_error(exc: Exception) -> NetzatlasError | None:
    """``exc`` as the error the user is shown: a netzatlas error as it is, a constraint or value the database refused
    as :class:`ConstraintViolation` (with the words of :func:`netzatlas.registry.db.refusal`); None for anything else.
    (psycopg is looked up, not imported: the CLI starts without it, and its errors come only once it is loaded.)"""
    if isinstance(exc, NetzatlasError):
        return exc
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, (psycopg.errors.IntegrityError, psycopg.errors.DataError)):
        from netzatlas.registry.db import refusal

        return refusal(exc)
    return None


class RateColumn(ProgressColumn):
    """Units done per second so far (``12,345 rows/s``)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text(f"… {self.unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} {self.unit}/s" if speed >= 10 else f"{speed:.2f} {self.unit}/s",
                    style="progress.data.speed")


def bar_columns(unit: str) -> list[ProgressColumn]:
    """The columns of every progress bar of the CLI: what, bar, done/total, rate, time left, time elapsed."""
    return [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(unit),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("elapsed"), TimeElapsedColumn()]


@contextmanager
def progress_bar(description: str, total: int | None = None, unit: str = "steps") -> Iterator[Callable[..., None]]:
    """A rich progress bar (drawn on stderr, also into logs: its last state says how far a run got); yields
    ``update(completed, total=None, description=None)``."""
    with Progress(*bar_columns(unit), console=err_console, transient=False) as p:
        task = p.add_task(description, total=total)

        def update(completed: float, total: float | None = None, description: str | None = None) -> None:
            kw: dict[str, Any] = {"completed": completed}
            if total is not None:
                kw["total"] = total
            if description is not None:
                kw["description"] = description
            p.update(task, **kw)

        yield update


def print_report_table(title: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        console.print(f"{title}: nothing")
        return
    t = Table(*rows[0].keys(), title=title)
    for r in rows:
        t.add_row(*(f"{v:,}" if isinstance(v, int) else escape(str(v)) for v in r.values()))  # data is no markup
    console.print(t)


def print_rejects(rejects: list[tuple[str, Any]], limit: int = 20) -> None:
    if not rejects:
        return
    t = Table("layer", "row", "id", "reason", title=f"{len(rejects)} rejected row(s) (not imported)")
    for layer, r in rejects[:limit]:
        t.add_row(layer, str(r.row), escape(str(r.external_id or "")), escape(r.reason))
    err_console.print(t)
