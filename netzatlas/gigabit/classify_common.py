"""What the pure and the SQL classification share, without pandas: column lists, class names, reason wording and
the planning horizon (so that ``gigabit classify`` in the database starts without loading pandas)."""

from __future__ import annotations

from datetime import date, timedelta

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
