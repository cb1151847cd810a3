"""Compiled kernels, compiled on first use: importing numba costs ~0.5 s (seconds on a loaded machine), which
commands and the API that never compute coverage should not pay."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled with numba (``nogil``: threads run it in parallel; cached on disk) at its first call."""
    kernel: list[Callable[..., Any]] = []

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        if not kernel:
            from numba import njit

            kernel.append(njit(cache=True, nogil=True)(fn))
        return kernel[0](*args)

    return call
