"""What the pure and the SQL classification share, without pandas: column lists, class names, reason wording and
the planning horizon (so that ``gigabit classify`` in the database starts without loading pandas)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from netzatlas.errors import InvalidParameter

CLASSES = {"weiß": "white", "hellgrau": "light grey", "dunkelgrau": "dark grey", "schwarz": "black",
           "gigabitfähig": "gigabit"}
SUPPLY_COLUMNS = ["address_id", "operator", "technology", "down_mbps", "up_mbps", "status", "planned_date", "binding"]
OUTPUT_COLUMNS = ["address_id", "best_down_mbps", "best_up_mbps", "best_technology", "nga_networks",
                  "planned_down_mbps", "planned_up_mbps", "planned_date", "binding_plan", "class_de", "class_en",
                  "eligible", "overdue_plan", "pre_marketing", "reason"]
FIBRE_TECHNOLOGIES = ("ftth", "fttb")
#: the reason's wording for an overdue plan (around its date), a plan in pre-marketing and a business outside any
#: Gewerbegebiet counted under a hint; shared with the SQL path
OVERDUE_TEXT = ("; plan overdue (milestone ", " passed): not counted")
PRE_MARKETING_TEXT = "; plan in pre-marketing (Vorvermarktung)"
BUSINESS_HINT_TEXT = " (hint: business outside any Gewerbegebiet, check)"


def horizon_end(reference: date, years: float) -> date:
    """The end of the planning horizon: whole calendar years (29 February becomes 28 February in a common year),
    plus days for a fraction of a year."""
    whole = int(years)
    try:
        end = reference.replace(year=reference.year + whole)
    except ValueError:  # 29 February
        end = reference.replace(year=reference.year + whole, day=28)
    return end + timedelta(days=round(365.25 * (years - whole)))


#: the reference dates a classification accepts (the horizon is added to them; the programmes start in 2015)
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_GERMAN = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
#: a snapshot name is what people type and what the API's ``maxLength`` allows
SNAPSHOT_MAX_LENGTH = 100


def parse_reference_date(value: str | date | None, *, today: date | None = None) -> date:
    """A reference date written ``2025-12-31`` or German ``31.12.2025`` (default: today); anything else, a day that
    does not exist (``2025-02-30``) or a date outside 2000–2099 is refused naming the value."""
    if value is None or value == "":
        return today or date.today()
    if isinstance(value, date):
        d = value
    else:
        text = str(value).strip()
        iso, german = _ISO.fullmatch(text), _GERMAN.fullmatch(text)
        if not (iso or german):
            raise InvalidParameter(f"reference date {value!r} is not a date / kein Datum",
                                   hint="write it as 2025-12-31 or 31.12.2025")
        y, m, day = (iso.groups() if iso else german.groups()[::-1])  # type: ignore[union-attr]
        try:
            d = date(int(y), int(m), int(day))
        except ValueError as exc:
            raise InvalidParameter(f"reference date {value!r} does not exist / gibt es nicht ({exc})",
                                   hint="write it as 2025-12-31 or 31.12.2025") from None
    if not FIRST_DATE <= d <= LAST_DATE:
        raise InvalidParameter(f"reference date {d.isoformat()} is outside {FIRST_DATE.year}–{LAST_DATE.year} / "
                               "Stichtag außerhalb des zulässigen Bereichs")
    return d


def check_snapshot_name(name: str) -> str:
    """A snapshot name as given (umlauts, spaces, quotes, ``/`` are fine); refused when empty, longer than
    ``SNAPSHOT_MAX_LENGTH``, with leading or trailing blanks, or holding control characters (a pasted line break)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter("a snapshot needs a name / der Stand braucht einen Namen",
                               hint="e.g. --snapshot mev-2026")
    if len(name) > SNAPSHOT_MAX_LENGTH:
        raise InvalidParameter(f"snapshot name is {len(name)} characters long; at most {SNAPSHOT_MAX_LENGTH} / "
                               "Name des Stands zu lang")
    if name != name.strip():
        raise InvalidParameter(f"snapshot name {name!r} begins or ends with a blank / beginnt oder endet mit "
                               "Leerzeichen", hint=f"use {name.strip()!r}")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidParameter(f"snapshot name {name!r} holds a control character (line break, tab) / enthält ein "
                               "Steuerzeichen")
    return name
