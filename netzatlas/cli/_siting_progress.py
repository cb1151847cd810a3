"""The progress bar of the siting commands: steps done of all steps, the rate, the time left (rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    Progress,
    Task,
    TimeRemainingColumn,
)
from rich.text import Text

from netzatlas.cli._common import bar_columns, err_console

#: the solver's part of the bar: steps 1..SOLVER_STEPS map its fraction done (greedy 0, improvement 0.2–0.4, exact
#: MILP from 0.5); step 0 is reading the inputs, the last step writing the outputs
SOLVER_STEPS = 10


class StepTimeRemaining(TimeRemainingColumn):
    """The time left, shown as unknown (``-:--:--``) during a step whose length the earlier steps do not tell: the
    exact MILP is one call that reports nothing until it ends, so an ETA from the quick steps before it was wrong
    (it read 0:00:36 and stood there for minutes with 900,000 streetlights as candidates)."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unmeasured") and not task.finished:
            return Text("-:--:--", style="progress.remaining")
        return super().render(task)


@contextmanager
def siting_progress(description: str) -> Iterator[tuple[Callable[[str, float | None], None],
                                                        Callable[[str], None]]]:
    """Yields ``(solver_progress, step)``: ``solver_progress(text, fraction)`` for ``certified_greedy``'s
    ``progress`` and ``step(text)`` for the steps around it (inputs read, outputs written); the bar is drawn at
    once as "reading inputs" (the commands import their analysis modules and read the inputs inside it);
    ``solver_progress("writing", None)`` after the solver counts all its steps done (the bar is then at the last
    step, not where the exact MILP began)."""
    total = SOLVER_STEPS + 2
    columns = [StepTimeRemaining() if isinstance(c, TimeRemainingColumn) else c for c in bar_columns("steps")]
    with Progress(*columns, console=err_console, transient=False) as p:
        task = p.add_task(f"{description}: reading inputs", total=total, unmeasured=False)
        state = {"done": 0.0}

        def solver(text: str, fraction: float | None) -> None:
            if fraction is not None:
                state["done"] = max(state["done"], 1 + fraction * SOLVER_STEPS)
            elif text == "writing":  # the solver is done: its steps are, the outputs are being written
                state["done"] = 1.0 + SOLVER_STEPS
            p.update(task, completed=state["done"], description=f"{description}: {text}",
                     unmeasured=text.startswith("exact MILP"))

        def step(text: str) -> None:
            state["done"] = 1.0 if state["done"] < 1 else float(total)
            p.update(task, completed=state["done"], description=f"{description}: {text}", unmeasured=False)

        yield solver, step
