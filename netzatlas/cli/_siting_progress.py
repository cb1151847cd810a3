"""The progress bar of the siting commands: steps done of all steps, the rate, the time left (rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    Progress,
)

from netzatlas.cli._common import bar_columns, err_console

#: the solver's part of the bar: steps 1..SOLVER_STEPS map its fraction done (greedy 0, improvement 0.2–0.4, exact
#: MILP from 0.5); step 0 is reading the inputs, the last step writing the outputs
SOLVER_STEPS = 10


@contextmanager
def siting_progress(description: str) -> Iterator[tuple[Callable[[str, float | None], None],
                                                        Callable[[str], None]]]:
    """Yields ``(solver_progress, step)``: ``solver_progress(text, fraction)`` for ``certified_greedy``'s
    ``progress`` and ``step(text)`` for the steps around it (inputs read, outputs written)."""
    total = SOLVER_STEPS + 2
    with Progress(*bar_columns("steps"), console=err_console, transient=False) as p:
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
