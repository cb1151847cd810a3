"""The progress bar of the siting commands: steps done of all steps, the rate, the time left (rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
from rich.text import Text

from netzatlas.cli._common import err_console

#: the solver's part of the bar: steps 1..SOLVER_STEPS map its fraction done (greedy 0, improvement 0.2–0.4, exact
#: MILP from 0.5); step 0 is reading the inputs, the last step writing the outputs
SOLVER_STEPS = 10


class RateColumn(ProgressColumn):
    """Steps per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("–" if speed is None else f"{speed:.2f} steps/s", style="progress.data.speed")


@contextmanager
def siting_progress(description: str) -> Iterator[tuple[Callable[[str, float | None], None],
                                                        Callable[[str], None]]]:
    """Yields ``(solver_progress, step)``: ``solver_progress(text, fraction)`` for ``certified_greedy``'s
    ``progress`` and ``step(text)`` for the steps around it (inputs read, outputs written)."""
    total = SOLVER_STEPS + 2
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=err_console, transient=False) as p:
        task = p.add_task(description, total=total)
        state = {"done": 0.0}

        def solver(text: str, fraction: float | None) -> None:
            if fraction is not None:
                state["done"] = max(state["done"], 1 + fraction * SOLVER_STEPS)
            p.update(task, completed=state["done"], description=f"{description}: {text}")

        def step(text: str) -> None:
            state["done"] = 1.0 if state["done"] < 1 else float(total)
            p.update(task, completed=state["done"], description=f"{description}: {text}")

        yield solver, step
