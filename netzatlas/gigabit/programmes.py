"""Funding programmes as data: thresholds, NGA and gigabit technologies, socio-economic rule, horizon, validity.

The programmes shipped with netzatlas live in ``programmes/*.yaml``; a user passes the path of an own YAML file.
No threshold is a constant in code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from netzatlas.errors import InvalidParameter, NotFound

DIR = Path(__file__).with_name("programmes")


class Threshold(BaseModel):
    """One way a single network can serve an address: at least this down (and up) rate."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is refused, not ignored

    down_mbps: float = Field(ge=0)
    up_mbps: float = Field(default=0, ge=0)

    def text(self) -> str:
        if self.up_mbps and self.up_mbps == self.down_mbps:
            return f"{self.down_mbps:g} Mbit/s symmetric"
        return f"{self.down_mbps:g} Mbit/s down" + (f" and {self.up_mbps:g} up" if self.up_mbps else "")

    def text_de(self) -> str:
        """The same in German (for the report's German sentence)."""
        if self.up_mbps and self.up_mbps == self.down_mbps:
            return f"{_de(self.down_mbps)} Mbit/s symmetrisch"
        return f"{_de(self.down_mbps)} Mbit/s im Download" + (
            f" und {_de(self.up_mbps)} Mbit/s im Upload" if self.up_mbps else "")


def _de(v: float) -> str:
    """A number as German text writes it (decimal comma)."""
    return f"{v:g}".replace(".", ",")


class SocioEconomic(BaseModel):
    """Socio-economic focal points (schools, hospitals, businesses …) and the rule that makes them eligible.

    ``rule``: ``same`` (no special rule), ``eligible_regardless`` (eligible unless gigabit-capable),
    ``eligible_without_fibre`` (eligible unless FTTB/H is available), ``eligible_if_grey`` (eligible where exactly
    one NGA network and no gigabit is available: a grey area). ``valid_from`` / ``valid_to``: the reference dates on
    which the rule applies (e.g. the 2018 Sonderaufrufe of the 2015 programme). ``business_area``: the category
    ``business`` counts only where the address lies in a Gewerbegebiet (``fibre_address.business_area``: OSM landuse
    or the city's flag) — ``rule`` enforces that, ``hint`` lets every business count and flags the ones outside.
    """

    model_config = ConfigDict(extra="forbid")  # a misspelt key is refused, not ignored

    rule: Literal["same", "eligible_regardless", "eligible_without_fibre", "eligible_if_grey"] = "same"
    categories: list[str] = []
    valid_from: date | None = None
    valid_to: date | None = None
    business_area: Literal["rule", "hint"] = "rule"
    source: str | None = None

    def in_force(self, on: date) -> bool:
        """Whether the rule applies on the reference date ``on``."""
        return (self.rule != "same" and bool(self.categories) and (self.valid_from is None or self.valid_from <= on)
                and (self.valid_to is None or on <= self.valid_to))

    def why(self) -> str:
        """How the rule reads in a reason."""
        return {"eligible_regardless": "eligible regardless", "eligible_without_fibre": "no FTTB/H",
                "eligible_if_grey": "grey area (one NGA network, no gigabit)"}.get(self.rule, "")


class Programme(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is refused, not ignored

    id: str
    title: str
    title_en: str
    valid_from: date
    valid_to: date | None = None
    horizon_years: float = Field(gt=0)
    binding_plans_only: bool = True
    overdue_plans_count: bool = False  # a plan whose milestone is before the reference date is overdue
    nga_technologies: list[str]
    wireless_nga_technologies: list[str] = []
    wireless_nga_min_down_mbps: float = 30
    nga_min_down_mbps: float = Field(default=30, ge=0)  # NGA means >= 30 Mbit/s down, whatever the technology
    gigabit_technologies: list[str]
    gigabit_min_down_mbps: float = 1000
    light_grey_below_down_mbps: float = 100
    served_if: list[Threshold] = Field(min_length=1)
    socio_economic: SocioEconomic = SocioEconomic()
    sources: list[str] = []

    @model_validator(mode="after")
    def _dates(self) -> Programme:
        if self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def thresholds_text(self) -> str:
        return " or ".join(t.text() for t in self.served_if)

    def thresholds_text_de(self) -> str:
        return " oder ".join(t.text_de() for t in self.served_if)

    def validity_warning(self, reference_date: date) -> str | None:
        """A sentence when ``reference_date`` lies outside the programme's validity, else None."""
        if reference_date < self.valid_from or (self.valid_to is not None and reference_date > self.valid_to):
            until = self.valid_to.isoformat() if self.valid_to else "today"
            return (f"reference date {reference_date.isoformat()} is outside the validity of {self.id} "
                    f"({self.valid_from.isoformat()} – {until}): the result applies rules that were not in force "
                    f"on that date / Stichtag außerhalb der Geltungsdauer des Programms")
        return None


def list_programmes() -> list[str]:
    return sorted(p.stem.replace("_", "-") for p in DIR.glob("*.yaml"))


def load_programme(name_or_path: str | Path) -> Programme:
    """A shipped programme by id (e.g. ``gigabit-rl-2.0-2024``) or file stem, or a YAML file of one's own."""
    p = Path(name_or_path)
    if p.suffix.lower() not in (".yaml", ".yml") and not p.is_file():
        for f in DIR.glob("*.yaml"):
            data = yaml.safe_load(f.read_text())
            if str(name_or_path) in (data.get("id"), f.stem, f.stem.replace("_", "-")):
                p = f
                break
        else:
            ids = [yaml.safe_load(f.read_text())["id"] for f in sorted(DIR.glob("*.yaml"))]
            raise NotFound(f"unknown funding programme {name_or_path!r}", hint="shipped: " + ", ".join(ids))
    if not p.is_file():
        raise NotFound(f"programme file {p} does not exist" if not p.exists() else f"{p} is not a file")
    return _read_file(p)


def _read_file(p: Path) -> Programme:
    """A programme file of one's own, every fault named with its key (never a traceback)."""
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InvalidParameter(f"{p.name} is not UTF-8 text", hint="save the YAML file as UTF-8") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidParameter(f"{p.name} is not valid YAML{at}: {what}") from None
    if not isinstance(data, dict):
        raise InvalidParameter(f"{p.name} is not a valid programme: it holds {type(data).__name__}, not keys and "
                               "values", hint="copy a shipped programme (netzatlas/gigabit/programmes/) and edit it")
    try:
        return Programme.model_validate(data)
    except ValidationError as exc:
        faults = []
        for e in exc.errors()[:5]:
            key = ".".join(str(x) for x in e["loc"]) or "(file)"
            given = "" if e["type"] in ("missing", "model_type") or isinstance(e.get("input"), dict) else \
                f" (given: {str(repr(e.get('input')))[:60]})"
            faults.append(f"{key}: {e['msg']}{given}")
        raise InvalidParameter(f"{p.name} is not a valid programme: " + "; ".join(faults),
                               hint="dates as 2024-01-01, rates as plain numbers in Mbit/s (100, not '100 Mbit/s')"
                               ) from None


def shipped() -> list[Programme]:
    return [Programme.model_validate(yaml.safe_load(f.read_text())) for f in sorted(DIR.glob("*.yaml"))]


def in_force(on: date) -> Programme:
    """The shipped programme valid on a date."""
    for p in shipped():
        if p.valid_from <= on and (p.valid_to is None or on <= p.valid_to):
            return p
    raise NotFound(f"no shipped programme is valid on {on}")
