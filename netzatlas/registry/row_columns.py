"""The bookkeeping columns a reader adds to a file's rows — apart from :mod:`netzatlas.registry.validate`, so that
reading a file loads no database module (``import file`` reads while those load)."""

from __future__ import annotations

#: the file's line, sheet row or feature number of each row
ROW_COLUMN = "_row"
#: a reader's own per-row problem (e.g. an unreadable coordinate), reported as the row's reason
PROBLEM_COLUMN = "_problem"
