"""Address normalisation and matching of market-exploration answers to the register (pure; no I/O).

Order, each step only for the rows the one before left:

1. ``address_id``: the register's id (uuid) or its ``external_id`` (e.g. the ALKIS / Hauskoordinate id);
2. street + number + suffix + postcode, exactly (single numbers on both sides);
3. street + number + suffix where the postcode is missing or differs, if exactly one register address has it — not
   where the answer's postcode (five digits) is none of the register's: that is a neighbouring municipality's street;
4. ranges: an answer range applies to every register address it names, a single number to the register range
   that holds it (``range``); postcodes must agree where both sides have one;
5. the nearest register address within a tolerance, where the answer has coordinates.

In steps 3 and 4, where the match does not rest on an agreeing postcode, a city (Ort / Gemeinde) given in the
answer must fit the register address's city: another municipality's "Königstraße 12" without a postcode is not
Aachen's (unmatched, reason "other municipality"). Cities are compared case-folded, ß / umlauts / accents as for
streets ("Wuerselen" = "Würselen" = "Wurselen"), "Stadt" / "Gemeinde" left out; "Aachen-Brand" / "Aachen (Brand)"
fit "Aachen" (the municipality, then its district), and so does a district name alone where the register knows it
(``RegisterIndex.districts``). Where the postcode agrees, a district name in the Ort column does not block.

A row that fits several register addresses where it names one (two "Hauptstr. 7" without postcode, 13 inside
both "11-13" and "13-15") is not applied anywhere: it is reported as ambiguous.

Rules:

- streets: case-folded; ß → ss, ä/ö/ü → ae/oe/ue, other accents dropped; "straße", "strasse", "str." → "str";
  "Sankt" → "st", but a final "St." is a Straße ("Jülicher St."); a leading word written after a comma ("Kupferofen,
  Am") is put first; spaces, dots and hyphens dropped ("Karl-Marx-Allee" = "karl marx allee"); a street the register
  does not have at all is reported so (a left-out "Am" is not guessed);
- postcodes: a country code before them is dropped ("D-52062", "DE 52062");
- numbers: every Unicode decimal digit counts as a digit (``١٢`` = 12, full-width ``１２`` = 12); what follows the
  digits is the suffix, normalised (NFKC, lower case, spaces dropped): "12a" = "12 A" = "12" + suffix "a",
  "12/1" = 12 + "/1", "21¹" = 21 + "1", "12½" = 12 + "1/2"; no leading digit ("½", "", "o. Nr.") → unreadable;
  an answer's number a spreadsheet turned into a date ("12. Dez", "01.12.2026") → unreadable, with that reason;
- lists ``108,110`` / ``24; 24a; 26`` (as OSM writes them) name each of their numbers;
- ranges ``12-14`` (also ``–``, ``—``, ``bis``) follow ONE side of the street, as German numbering does: the numbers
  of the same parity from one end to the other ("13-15" = 13 and 15, never 14). A range whose ends differ in parity
  (``12-15``) is not applied unless the row says it spans both sides (answer column ``beidseitig`` / ``both_sides``
  = ja), which makes it every number from one end to the other. In the register, such a range stands for every
  number (the register says so). ``12a-12c`` and ``12a-c`` = 12a, 12b, 12c (also number 12 with the suffix "a-c" in
  its own column); ``12-12a`` = 12, 12a. A parity word names the numbers of that parity between the ends ("2-8
  gerade", "1-9 (ungerade)"). A remark after the number ("12 (Hinterhaus)", "12 Hinterhaus") is dropped: the address
  is 12. Ranges over more than ``MAX_RANGE`` numbers are not expanded (the row stays unmatched, with the reason).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["MAX_RANGE", "Matching", "ParsedNumber", "RegisterIndex", "conflicts", "index_register", "match",
           "match_addresses", "normalise_city", "normalise_street", "parse_house_number", "split_number"]

MAX_RANGE = 50
MAX_NUMBER = 999_999
_DASHES = dict.fromkeys(map(ord, "–—‐‑−‒"), "-")
_RANGE = re.compile(r"^(\d+)\s*([a-z]?)\s*(?:-|bis)\s*(\d+)\s*([a-z]?)$")
_LETTERS = re.compile(r"^(\d+)\s*([a-z]?)\s*-\s*([a-z])$")
_AND = re.compile(r"(?<=[\da-z])\s+(?:u\.?|und|&|\+)\s*(?=\d)|\s*[&+]\s*(?=\d)")
_FLOAT = re.compile(r"^(\d+)[.,]0+$")
_PARITY = re.compile(r"\s*\(?\s*(?:nur\s+)?(ungerade|gerade)(?:\s*(?:nr\.?|nummern|hausnummern|seite|zahlen))?\s*\)?$")
#: A remark after the number: in brackets, or a building part ("Hinterhaus", "Rückgebäude")
_REMARK = re.compile(r"(?<=[\da-z])\s*(?:\((?=[^)]*[a-zäöüß]{2})[^)]*\)|\s(?:hinterhaus|vorderhaus|seitenfl(?:ü|ue)gel|"
                     r"r(?:ü|ue)ckgeb(?:ä|ae)ude|nebengeb(?:ä|ae)ude|hofgeb(?:ä|ae)ude|quergeb(?:ä|ae)ude|gartenhaus|"
                     r"anbau)\b.*)\s*$")
_SINGLE = re.compile(r"^(\d+)(.*)$", re.DOTALL)
#: A suffix cell naming a span of letters ("a-c", "a bis c")
_LETTER_RANGE = re.compile(r"^[a-z](?:-|bis)[a-z]$")
_MONTHS = r"(?:jan|feb|m(?:ä|ae)?r|mrz|apr|mai|may|jun|jul|aug|sep|o[kc]t|nov|de[zc])[a-zäöü]*\.?"
#: A house number a spreadsheet turned into a date ("12-1" → "12. Jan", "12/1/26" → "12.01.2026", ISO from xlsx)
_DATE_LIKE = re.compile(rf"^(?:\d{{1,2}}\.?\s*-?{_MONTHS}(?:\s*-?\d{{2,4}})?|{_MONTHS}\s*-?\d{{1,4}}|"
                        r"\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?)$")
_NO_ADDRESS = "no register address with this street, number and postcode"
METHODS = ("address_id", "street+number+postcode", "street+number", "range", "nearest")


#: The street's leading word after a comma, as sorted lists write it ("Kupferofen, Am", "Linden, An den")
_PREFIX_AFTER = re.compile(r"^(.*?\S)\s*,\s*(am|an|an der|an den|auf der|auf dem|auf den|im|in der|in den|zum|zur|"
                           r"beim|bei der|vor dem|hinter der|hinter dem|unter den|unterm|ober|alte|alter|am alten)$")


@lru_cache(maxsize=200_000)
def normalise_street(name: object) -> str:
    """A street name as a comparison key ("Krefelder Straße" = "krefelder str.")."""
    if not isinstance(name, str):
        return ""
    s = name.strip().lower()
    s = s.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    if m := _PREFIX_AFTER.match(s):  # "Kupferofen, Am" (as a sorted list writes it) = "Am Kupferofen"
        s = f"{m.group(2)} {m.group(1)}"
    s = re.sub(r"(?<=\w)\s+st\.?$", " str", s)  # "Jülicher St." at the end is a Straße, not a Sankt
    s = re.sub(r"\bsankt\b", "st", s)  # "Sankt-Vither-Straße" = "St. Vither Straße"
    s = re.sub(r"(strasse|str\.|str\b)", "str", s)
    return re.sub(r"[\s.\-]+", "", s)


#: Words of a city cell that name no place ("Stadt Aachen", "Aachen, Stadt", "Hansestadt Rostock")
_CITY_WORDS = {"stadt", "gemeinde", "kreisfreie", "hansestadt", "nrw", "ortsteil", "ot"}


@lru_cache(maxsize=20_000)
def normalise_city(name: object) -> tuple[str, ...]:
    """A city cell as comparison words ("Aachen-Brand" → ("aachen", "brand"), "Würselen" = "Wuerselen" =
    "Wurselen"); () for a blank cell."""
    if not isinstance(name, str):
        return ()
    s = name.strip().lower().replace("ß", "ss")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = s.replace("ae", "a").replace("oe", "o").replace("ue", "u")  # an umlaut written out or dropped: one key
    s = re.sub(r"\bsankt\b|\bst\.", "st ", s)
    # a postcode written into the Ort column ("52064 Aachen") is no part of the name
    return tuple(w for w in re.findall(r"[a-z0-9]+", s) if w not in _CITY_WORDS and not re.fullmatch(r"\d{4,5}", w))


def _city_fits(answer: tuple[str, ...], register: tuple[str, ...], districts: frozenset[str]) -> bool:
    """Whether an answer's city can name the register address's: equal, one the other's municipality with a
    district after it ("Aachen-Brand" / "Aachen"), or a district the register knows; blank fits anything."""
    if not answer or not register:
        return True
    n = min(len(answer), len(register))
    if answer[:n] == register[:n]:
        return True
    k = len(register)  # "Brand (Aachen)": the register's city among the answer's words
    if any(answer[i:i + k] == register for i in range(1, len(answer) - k + 1)):
        return True
    return " ".join(answer) in districts


@dataclass(frozen=True)
class ParsedNumber:
    """The register numbers a house-number cell names: ``keys`` (number, suffix); ``is_range``; ``problem``
    (why it names none)."""

    keys: tuple[tuple[int, str], ...] = ()
    is_range: bool = False
    problem: str | None = None


def _ascii_digits(text: str) -> str:
    """Every Unicode decimal digit → its ASCII digit; other characters kept (superscripts are not decimal)."""
    out = []
    for ch in text:
        d = unicodedata.decimal(ch, None) if not ch.isascii() else None
        out.append(str(d) if d is not None else ch)
    return "".join(out)


def _suffix(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower().replace("⁄", "/")
    return re.sub(r"\s+", "", s).strip(".,;()")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT


def _no_number(value: str, v: str) -> str:
    """Why a cell names no number: empty, or a date a spreadsheet made of it."""
    if not v:
        return "no house number"
    return (f"house number {value!r} looks like a date (a spreadsheet turned \"12-1\" or \"12/1\" into one?); "
            "write the number as text")


@lru_cache(maxsize=100_000)
def _parse_cached(value: str, suffix: str, both_sides: bool, register: bool) -> ParsedNumber:
    v = _ascii_digits(value).translate(_DASHES).strip().lower()
    v = re.sub(r"\s+", " ", v)
    if not v or (not register and _DATE_LIKE.match(v)):
        return ParsedNumber(problem=_no_number(value, v))
    v = _FLOAT.sub(r"\1", v)  # a number column written as a float by a spreadsheet: "12.0", "12,0"
    v = _without_remark(v)  # "12 (Hinterhaus)", "12 Hinterhaus": the address is 12
    if parity := _of_parity(value, v, suffix, register):  # "2-8 gerade", "1-9 ungerade"
        return parity
    v = _AND.sub(",", v)  # "12 u. 14", "12 und 14", "12 & 14", "12 + 14": a list
    if "," in v or ";" in v:  # a list, as OSM writes it: "108,110", "24; 24a; 26"
        return _list(value, v, both_sides, register)
    if any(len(d) > 6 for d in re.findall(r"\d+", v)):
        return ParsedNumber(problem=f"house number {value!r} is too large")
    m = _LETTERS.match(v)
    if m:
        n, lo, hi = int(m.group(1)), m.group(2), m.group(3)
        lo, hi = sorted((lo, hi))
        return ParsedNumber(_letter_span(n, lo, hi), True)
    m = _RANGE.match(v)
    if m:
        a, la, b, lb = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
        if a == b:
            lo, hi = sorted((la, lb))
            return ParsedNumber(_letter_span(a, lo, hi), True)
        if (a, la) > (b, lb):
            a, la, b, lb = b, lb, a, la
        if b - a > MAX_RANGE:
            return ParsedNumber(problem=f"range {value!r} spans more than {MAX_RANGE} numbers")
        if (a - b) % 2 and not (both_sides or register):
            return ParsedNumber(problem=f"range {value!r} has ends on both sides of the street (odd and even); "
                                        "mark the row as both-sided (column beidseitig = ja) to apply it to "
                                        "every number")
        step = 1 if (a - b) % 2 or both_sides else 2
        keys = [(n, "") for n in range(a, b + 1, step)]
        keys = [(a, la)] + keys[1:] if la else keys
        keys = keys[:-1] + [(b, lb)] if lb and keys[-1][0] == b else keys
        return ParsedNumber(tuple(dict.fromkeys(keys)), True)
    m = _SINGLE.match(v)
    if not m:
        return ParsedNumber(problem=f"house number {value!r} has no number")
    n = int(m.group(1))
    if n > MAX_NUMBER:
        return ParsedNumber(problem=f"house number {value!r} is too large")
    suf = _suffix(m.group(2)) or suffix
    return ParsedNumber(((n, suf),))


def _list(value: str, v: str, both_sides: bool, register: bool) -> ParsedNumber:
    parts = [_parse_cached(x, "", both_sides, register) for x in re.split(r"\s*[,;]\s*", v) if x]
    if len(parts) == 1:
        return parts[0]
    if len(parts) > 1 and all(p.keys for p in parts):
        return ParsedNumber(tuple(dict.fromkeys(k for p in parts for k in p.keys)), True)
    bad = next((p.problem for p in parts if p.problem), None)
    return ParsedNumber(problem=bad or f"house number {value!r} is not a list of numbers")


def _without_remark(v: str) -> str:
    return _REMARK.sub("", v) or v


def _of_parity(value: str, v: str, suffix: str, register: bool) -> ParsedNumber | None:
    """A range with a parity word ("2-8 gerade"): the numbers of that parity between its ends; None without one."""
    parity = _PARITY.search(v)
    if not parity or parity.start() == 0:
        return None
    even = parity.group(1) == "gerade"
    inner = _parse_cached(v[:parity.start()], suffix, True, register)
    if inner.problem:
        return inner
    keys = tuple(k for k in inner.keys if k[0] % 2 == (0 if even else 1))
    if not keys:
        return ParsedNumber(problem=f"house number {value!r} names no {'even' if even else 'odd'} number")
    return ParsedNumber(keys, True)


def _letter_span(n: int, lo: str, hi: str) -> tuple[tuple[int, str], ...]:
    if hi == "":  # "12-12"
        return ((n, ""),)
    letters = [""] if lo == "" else []
    start = ord(lo) if lo else ord("a")
    letters += [chr(c) for c in range(start, ord(hi) + 1)]
    return tuple((n, s) for s in letters)


def parse_house_number(value: object, suffix: object = None, *, both_sides: bool = False,
                       register: bool = False) -> ParsedNumber:
    """Parse a house number cell (+ a separate suffix cell); never raises.

    >>> parse_house_number("13-15").keys, parse_house_number("12 a").keys, parse_house_number("21¹").keys
    (((13, ''), (15, '')), ((12, 'a'),), ((21, '1'),))
    """
    if _blank(value):
        return ParsedNumber(problem="no house number")
    suf = "" if _blank(suffix) else _suffix(str(suffix))
    text = str(value)
    if _LETTER_RANGE.match(suf):  # number 34, suffix "a-c": the letters 34a to 34c
        text, suf = f"{text.strip()}{suf[0]}-{suf[-1]}", ""
    try:
        return _parse_cached(text, suf, bool(both_sides), bool(register))
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # never let a number crash an import
        return ParsedNumber(problem=f"house number {value!r} unreadable ({exc})")


def split_number(value: object, suffix: object = None, *, both_sides: bool = False) -> list[tuple[str, str]]:
    """House number (+ suffix) → [(number, suffix)], ranges expanded along one side; [] if unreadable."""
    return [(str(n), s) for n, s in parse_house_number(value, suffix, both_sides=both_sides).keys]


# ---------------------------------------------------------------- vectorised keys
def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(None, index=df.index, dtype=object)


#: A country code before a postcode, as letters and forms write it ("D-52062", "D 52062", "DE-52062")
_COUNTRY = re.compile(r"^(?:D|DE)\s*[-–]?\s*(?=\d{4,5}\b)", re.IGNORECASE)


def _postcode(u: object) -> str:
    """A postcode cell as a comparison key; blank → ""."""
    if _blank(u):
        return ""
    t = _COUNTRY.sub("", str(u).strip())  # "D-52062", "D 52062", "DE-52062": the country is no part of it
    t = t[:-2] if t.endswith((".0", ",0")) else t  # a postcode column read as a number: 52062.0
    return t.zfill(5) if t.isdigit() and len(t) == 4 else t


@dataclass
class _Keys:
    pos: np.ndarray        # position of the row in the frame
    street: np.ndarray     # street code (shared code space)
    number: np.ndarray
    suffix: np.ndarray     # suffix code
    plz: np.ndarray        # postcode code, 0 = none
    single: np.ndarray     # the cell names one number (no range)


def _keys(df: pd.DataFrame, codes: dict[str, dict[str, int]], *, register: bool
          ) -> tuple[_Keys, dict[int, str], np.ndarray]:
    """One key per (row, number) — ranges give several; (keys, problem per row position, is-range per row)."""
    n = len(df)
    hn = _col(df, "house_number").astype(object)
    suf = _col(df, "house_number_suffix").astype(object)
    both = _col(df, "both_sides").fillna(False).astype(bool) if "both_sides" in df.columns else \
        pd.Series(False, index=df.index)
    # (number, suffix, both sides) as one integer from per-column codes: factorising a MultiIndex takes seconds
    hn_codes, hn_u = pd.factorize(hn.where(hn.notna(), None), use_na_sentinel=True)
    suf_codes, suf_u = pd.factorize(suf.where(suf.notna(), None), use_na_sentinel=True)
    width = len(suf_u) + 1
    combined = ((hn_codes.astype(np.int64) + 1) * width + (suf_codes + 1)) * 2 + both.to_numpy().astype(np.int64)
    ucodes, uniques = pd.factorize(combined)
    hn_u, suf_u = np.append(np.asarray(hn_u, dtype=object), None), np.append(np.asarray(suf_u, dtype=object), None)
    parsed = [parse_house_number(hn_u[(u // 2) // width - 1], suf_u[(u // 2) % width - 1], both_sides=bool(u % 2),
                                 register=register) for u in uniques.tolist()]
    lengths = np.array([len(p.keys) for p in parsed], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(parsed) else np.zeros(0, dtype=np.int64)
    flat_n = np.array([k[0] for p in parsed for k in p.keys], dtype=np.int64)
    suf_codes = codes["suffix"]
    flat_s = np.array([suf_codes.setdefault(k[1], len(suf_codes)) for p in parsed for k in p.keys], dtype=np.int64)
    is_range_u = np.array([p.is_range for p in parsed], dtype=bool)
    counts = lengths[ucodes] if n else np.zeros(0, dtype=np.int64)
    total = int(counts.sum())
    pos = np.repeat(np.arange(n, dtype=np.int64), counts)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    flat_idx = np.repeat(offsets[ucodes], counts) + within
    st = _coded(_col(df, "street"), codes["street"], normalise_street, missing=-1)
    pc = _coded(_col(df, "postcode"), codes["plz"], _postcode, missing=0)  # each distinct cell once
    is_range = is_range_u[ucodes] if n else np.zeros(0, dtype=bool)
    keys = _Keys(pos, st[pos], flat_n[flat_idx], flat_s[flat_idx], pc[pos], ~is_range[pos])
    ok = keys.street >= 0
    keys = _Keys(*(a[ok] for a in (keys.pos, keys.street, keys.number, keys.suffix, keys.plz, keys.single)))
    bad_u = np.array([p.problem is not None for p in parsed] + [False], dtype=bool)
    problems = {int(i): parsed[ucodes[i]].problem for i in np.flatnonzero(bad_u[ucodes])}
    for i in np.flatnonzero(st < 0):
        problems.setdefault(int(i), "no street")
    return keys, problems, is_range


def _coded(s: pd.Series, space: dict[str, int], norm, *, missing: int) -> np.ndarray:  # noqa: ANN001
    """Codes in a shared code space, each distinct value normalised once; blank → ``missing``."""
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    per_unique = np.array([space.setdefault(k, len(space)) if (k := norm(u)) else missing for u in uniques]
                          + [missing], dtype=np.int64)
    return per_unique[codes]  # code -1 (missing) picks the last element


def _frame(k: _Keys) -> pd.DataFrame:
    key = (k.street << 42) | (k.number << 21) | k.suffix
    return pd.DataFrame({"pos": k.pos, "key": key, "plz": k.plz, "single": k.single})


def _join(a: pd.DataFrame, r: pd.DataFrame, keys: np.ndarray) -> pd.DataFrame:
    """Inner join of answer keys ``a`` with register keys ``r`` (sorted by ``keys``) on ``key``, in the order of
    ``a`` (as ``DataFrame.merge``); ``r``'s columns that ``a`` also has get the suffix ``_r``. A binary search in
    the register's keys sorted once, instead of hashing the whole register for every merge."""
    k = a["key"].to_numpy()
    lo, hi = np.searchsorted(keys, k, "left"), np.searchsorted(keys, k, "right")
    n = hi - lo
    left = np.repeat(np.arange(len(a)), n)
    right = np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    out = {c: a[c].to_numpy()[left] for c in a.columns}
    for c in r.columns:
        if c != "key":
            out[c + "_r" if c in a.columns else c] = r[c].to_numpy()[right]
    return pd.DataFrame(out)


@dataclass
class Matching:
    """Matches (answer row label, address_id, method[, distance_m]) and why the other rows did not match."""

    matches: pd.DataFrame
    notes: dict[object, str] = field(default_factory=dict)   # answer row label → reason it was not applied
    ambiguous: set[object] = field(default_factory=set)       # labels of rows that fit several addresses
    #: register position of each match (aligned with ``matches``) where the register's ids are unique, else None
    positions: np.ndarray | None = None


def _take(hits: pd.DataFrame, method: str, label: np.ndarray, reg_ids: np.ndarray, *, many_ok: pd.Series | None,
          notes: dict, ambiguous: set, why: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Accept rows with one distinct address (or any number where ``many_ok``); note the rest as ambiguous.
    Returns the accepted matches and the answer positions seen."""
    if hits.empty:
        return pd.DataFrame(columns=["row", "address_id", "method", "_reg"]), np.zeros(0, dtype=np.int64)
    hits = hits.drop_duplicates(["pos", "reg"])
    n_addr = hits.groupby("pos")["reg"].transform("size")
    accept = n_addr.eq(1)
    if many_ok is not None:
        accept |= hits["pos"].map(many_ok).fillna(False).astype(bool)
    for p, k in hits.loc[~accept].groupby("pos")["reg"].size().items():
        notes[label[p]] = f"ambiguous: fits {k} register addresses ({why})"
        ambiguous.add(label[p])
    got = hits[accept]
    reg = got["reg"].to_numpy()
    out = pd.DataFrame({"row": label[got["pos"].to_numpy()], "address_id": reg_ids[reg], "method": method,
                        "_reg": reg})
    return out, hits["pos"].to_numpy()  # the positions seen (repeats included)


@dataclass
class RegisterIndex:
    """The register's keys, built once and used for every answer file of an import."""

    register: pd.DataFrame
    codes: dict[str, dict[str, int]]
    keys: pd.DataFrame
    ids: np.ndarray
    _lookup: pd.Series | None = None
    _tree: tuple | None = None
    _positions: pd.Index | None = None
    _sorted: dict[bool, tuple[pd.DataFrame, np.ndarray]] = field(default_factory=dict)
    _unique_ids: bool | None = None
    streets: int = -1  # the register's streets have the street codes below this (-1: not known)
    postcodes: int = -1  # and its postcodes the postcode codes below this
    #: district (Ortsteil) names the register knows, as ``" ".join(normalise_city(name))``
    districts: frozenset[str] = frozenset()
    _cities: tuple[np.ndarray, list[tuple[str, ...]], list[str]] | None = None

    def cities(self) -> tuple[np.ndarray, list[tuple[str, ...]], list[str]]:
        """Per register position a city code (-1: none), each code's comparison words and a spelling of it."""
        if self._cities is None:
            cells = _col(self.register, "city").astype(object)
            codes, uniq = pd.factorize(cells, use_na_sentinel=True)
            keys = [normalise_city(u) for u in uniq]
            key_codes, key_uniq = pd.factorize(pd.Series([" ".join(k) for k in keys], dtype=object))
            shown = dict(zip(key_codes.tolist(), map(str, uniq), strict=True))
            per = np.append(np.where([bool(k) for k in keys], key_codes, -1), -1).astype(np.int64)
            self._cities = (per[codes], [tuple(k.split()) for k in key_uniq],
                            [shown[i] for i in range(len(key_uniq))])
        return self._cities

    def unknown_cities(self, cells: pd.Series) -> bool:
        """Whether an answer city fits none of the register's cities (then its districts are worth reading)."""
        if not cells.notna().any() or "city" not in self.register.columns:
            return False
        _, keys, _ = self.cities()
        return any(k and keys and not any(_city_fits(k, r, frozenset()) for r in keys)
                   for k in map(normalise_city, pd.unique(cells.dropna().astype(object))))

    def sorted_keys(self, single_only: bool) -> tuple[pd.DataFrame, np.ndarray]:
        """The register's keys (all, or only the single numbers), sorted by key once per import, and the keys."""
        if single_only not in self._sorted:
            r = self.keys[self.keys["single"]] if single_only else self.keys
            r = r.iloc[np.argsort(r["key"].to_numpy(), kind="stable")].reset_index(drop=True)
            self._sorted[single_only] = (r, r["key"].to_numpy())
        return self._sorted[single_only]

    def positions(self, address_ids: np.ndarray) -> np.ndarray:
        """Register positions of address ids (as text; -1 where not in the register)."""
        return self._id_index().get_indexer(address_ids)

    def unique_ids(self) -> bool:
        """Whether every register address has its own id (then a position stands for its id)."""
        if self._unique_ids is None:
            self._unique_ids = bool(self._id_index().is_unique)
        return self._unique_ids

    def _id_index(self) -> pd.Index:
        if self._positions is None:
            self._positions = pd.Index(self.ids)
        return self._positions

    def lookup(self) -> pd.Series:
        """Lower-cased id and external id → register position (ids that are not unique left out)."""
        if self._lookup is None:
            reg = self.register
            lk = pd.Series(np.arange(len(reg)), index=pd.Index(reg["address_id"].astype(str).str.lower()))
            if "external_id" in reg.columns:
                ext = pd.Series(np.arange(len(reg)), index=pd.Index(reg["external_id"].astype(str).str.lower()))
                lk = pd.concat([lk, ext[~ext.index.isin(lk.index)]])
            self._lookup = lk[~lk.index.duplicated(keep=False)]
        return self._lookup

    def tree(self) -> tuple:
        """(cKDTree over the register points with coordinates, their positions)."""
        if self._tree is None:
            from scipy.spatial import cKDTree  # imported only when a row needs the nearest address (seconds cold)

            xy = self.register[["x", "y"]].to_numpy(dtype=float)
            ok = np.flatnonzero(np.isfinite(xy).all(axis=1))
            self._tree = (cKDTree(xy[ok]) if len(ok) else None, ok)
        return self._tree


def index_register(register: pd.DataFrame, *, unique_ids: bool | None = None) -> RegisterIndex:
    """Parse and code the register's addresses once (see :func:`match`). ``unique_ids``: True where the caller
    knows every address id occurs once (the database's primary key), else it is checked when first needed."""
    codes: dict[str, dict[str, int]] = {"street": {}, "suffix": {"": 0}, "plz": {"": 0}}
    rk, _, _ = _keys(register, codes, register=True)
    return RegisterIndex(register, codes, _frame(rk).rename(columns={"pos": "reg"}),
                         register["address_id"].astype(str).to_numpy(), _unique_ids=unique_ids or None,
                         streets=len(codes["street"]), postcodes=len(codes["plz"]))


def match(answers: pd.DataFrame, register: pd.DataFrame | RegisterIndex, *, tolerance_m: float = 25.0
          ) -> Matching:
    """Match answer rows to register addresses (see the module docstring for the order and rules).

    ``register``: address_id, street, house_number, house_number_suffix, postcode, optionally external_id and
    x/y (metric) — or a :class:`RegisterIndex` of it. ``answers``: the same columns (address_id, both_sides, x/y
    optional)."""
    idx = register if isinstance(register, RegisterIndex) else index_register(register)
    register = idx.register
    label = answers.index.to_numpy()
    reg_ids = idx.ids
    notes: dict[object, str] = {}
    ambiguous: set[object] = set()
    out: list[pd.DataFrame] = []
    done = np.zeros(len(answers), dtype=bool)
    if "address_id" in answers.columns and len(register) and answers["address_id"].notna().any():
        aid = answers["address_id"].astype(object).where(answers["address_id"].notna(), None)
        aid = aid.map(lambda v: None if v is None else str(v).strip().lower() or None)
        hit = aid.map(idx.lookup())
        ok = hit.notna().to_numpy()
        reg = hit[ok].astype(np.int64).to_numpy()
        out.append(pd.DataFrame({"row": label[ok], "address_id": reg_ids[reg], "method": "address_id", "_reg": reg}))
        done |= ok
        for p in np.flatnonzero(aid.notna().to_numpy() & ~ok):
            notes[label[p]] = f"address id {aid.iloc[p]!r} is not in the register"
    ak, problems, a_range = _keys(answers, idx.codes, register=False)
    af = _frame(ak)
    for p, why in problems.items():
        if not done[p]:
            notes.setdefault(label[p], why)
    blocked = done.copy()

    def still(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[~blocked[frame["pos"].to_numpy()]]

    # 2. exact with postcode, 3. exact without
    (r1, k1), (rall, kall) = idx.sorted_keys(True), idx.sorted_keys(False)
    a1 = still(af[af["single"]])
    hits = _join(a1[a1["plz"] > 0], r1, k1)
    hits = hits[hits["plz"] == hits["plz_r"]]
    got, seen = _take(hits, "street+number+postcode", label, reg_ids, many_ok=None, notes=notes,
                      ambiguous=ambiguous, why="the register holds this address twice")
    out.append(got)
    blocked[seen] = True
    foreign = _foreign_postcodes(answers, idx)  # another municipality's: no match without the postcode
    city = _CityCheck.of(answers, idx)  # another municipality's by its Ort: no match without an agreeing postcode
    hits = _join(a1[~foreign[a1["pos"].to_numpy()] & ~blocked[a1["pos"].to_numpy()]], r1[["key", "reg"]], k1)
    hits = city.keep(hits, np.ones(len(hits), dtype=bool))
    got, seen = _take(hits, "street+number", label, reg_ids, many_ok=None, notes=notes, ambiguous=ambiguous,
                      why="street and number exist under several postcodes; give the postcode")
    out.append(got)
    blocked[seen] = True
    # 4. ranges on either side
    a2 = still(af)
    hits = _join(a2[~foreign[a2["pos"].to_numpy()]], rall, kall)
    hits = hits[(hits["plz"] == 0) | (hits["plz_r"] == 0) | (hits["plz"] == hits["plz_r"])]
    hits = hits[~(hits["single"] & hits["single_r"])]
    hits = city.keep(hits, ((hits["plz"] == 0) | (hits["plz"] != hits["plz_r"])).to_numpy())
    per_key = hits.groupby(["pos", "key"])["reg"].transform("nunique")
    hits = hits[per_key.eq(1) | ~pd.Series(a_range[hits["pos"].to_numpy()], index=hits.index)]
    many_ok = pd.Series(a_range, index=np.arange(len(answers)))
    got, seen = _take(hits[["pos", "reg"]], "range", label, reg_ids, many_ok=many_ok, notes=notes,
                      ambiguous=ambiguous, why="the number lies in several register ranges")
    out.append(got)
    blocked[seen] = True
    matched_rows = pd.concat(out)["row"].to_numpy() if out else np.zeros(0, dtype=np.int64)
    # 5. nearest
    if {"x", "y"} <= set(answers.columns) and {"x", "y"} <= set(register.columns) and len(register):
        left = ~pd.Index(label).isin(matched_rows) & answers["x"].notna().to_numpy() & answers["y"].notna().to_numpy()
        tree, okr = idx.tree() if left.any() else (None, None)
        if tree is not None:
            d, i = tree.query(answers.loc[left, ["x", "y"]].to_numpy(dtype=float), distance_upper_bound=tolerance_m)
            ok = np.isfinite(d)
            reg = okr[i[ok]]
            rows = label[left][ok]
            out.append(pd.DataFrame({"row": rows, "address_id": reg_ids[reg], "method": "nearest",
                                     "distance_m": d[ok].round(1), "_reg": reg}))
            for r in rows:
                notes.pop(r, None)
                ambiguous.discard(r)
            _note_points_far_away(answers, np.flatnonzero(left)[~ok], label, notes, tolerance_m)
    res = pd.concat([o for o in out if len(o)], ignore_index=True) if any(len(o) for o in out) else \
        pd.DataFrame(columns=["row", "address_id", "method", "_reg"])
    unique_ids = idx.unique_ids() if len(res) else True
    if len(res):  # (row, address) once; on codes (the register position where it stands for the id), not on text
        aid_codes = res["_reg"].to_numpy(dtype=np.int64) if unique_ids else \
            pd.factorize(res["address_id"].astype(object))[0]
        res = res[~pd.DataFrame({"r": res["row"].to_numpy(), "a": aid_codes}).duplicated().to_numpy()]
    positions = res["_reg"].to_numpy(dtype=np.int64) if unique_ids else None
    res = res.drop(columns="_reg")
    if notes:  # rows matched after all: no note (looked up for the noted rows only)
        matched = pd.Index(res["row"].to_numpy())
        for r in [k for k in notes if k in matched]:
            notes.pop(r, None)
    miss = np.flatnonzero(~np.isin(label, res["row"].to_numpy()))
    for p, why in city.reasons(miss).items():
        notes.setdefault(label[p], why)
    for p, why in zip(miss.tolist(), _reasons(answers, miss, foreign, idx).tolist(), strict=True):
        notes.setdefault(label[p], why)
    return Matching(res.reset_index(drop=True), notes, ambiguous, positions)


@dataclass
class _CityCheck:
    """Drops hits whose answer city does not fit the register address's (``_city_fits``) and remembers, per answer
    position, one register city it was kept off (for the reason)."""

    answer: np.ndarray | None = None   # city code per answer position (-1: none)
    register: np.ndarray | None = None  # city code per register position (-1: none)
    conflict: np.ndarray | None = None  # [answer code, register code] → does not fit (last row / column: none)
    cells: np.ndarray | None = None     # the answer's cities as written, per code
    shown: list[str] = field(default_factory=list)  # the register's cities as written, per code
    lost: dict[int, int] = field(default_factory=dict)  # answer position → register city code

    @classmethod
    def of(cls, answers: pd.DataFrame, idx: RegisterIndex) -> _CityCheck:
        if "city" not in answers.columns or "city" not in idx.register.columns or not answers["city"].notna().any():
            return cls()
        reg, keys, shown = idx.cities()
        if not keys:
            return cls()
        codes, uniq = pd.factorize(answers["city"].astype(object), use_na_sentinel=True)
        table = np.zeros((len(uniq) + 1, len(keys) + 1), dtype=bool)
        for i, a in enumerate(map(normalise_city, uniq)):
            table[i, :-1] = [not _city_fits(a, r, idx.districts) for r in keys]
        if not table.any():
            return cls()
        return cls(codes, reg, table, np.asarray(uniq, dtype=object), shown)

    def keep(self, hits: pd.DataFrame, checked: np.ndarray) -> pd.DataFrame:
        """``hits`` without those (among the ``checked``) whose cities do not fit."""
        if self.conflict is None or not len(hits):
            return hits
        pos, reg = hits["pos"].to_numpy(), hits["reg"].to_numpy()
        bad = checked & self.conflict[self.answer[pos], self.register[reg]]
        if not bad.any():
            return hits
        for p, r in zip(pos[bad].tolist(), self.register[reg[bad]].tolist(), strict=True):
            self.lost.setdefault(p, r)
        return hits[~bad]

    def reasons(self, miss: np.ndarray) -> dict[int, str]:
        """The reason of each unmatched position that a city kept off a register address."""
        if not self.lost:
            return {}
        return {p: f"other municipality: the answer's city {str(self.cells[self.answer[p]])!r} is not the "
                   f"register's {self.shown[self.lost[p]]!r} at this street and number (a district? give the postcode)"
                for p in miss.tolist() if p in self.lost}


def _reasons(answers: pd.DataFrame, miss: np.ndarray, foreign: np.ndarray, idx: RegisterIndex) -> np.ndarray:
    """The reason of each unmatched row (positions ``miss``) that has none yet: a postcode of another municipality,
    a street the register does not have, else no such address; each distinct street and postcode looked at once."""
    if not len(miss):
        return np.zeros(0, dtype=object)
    codes, uniq = pd.factorize(_col(answers, "street").iloc[miss].astype(object), use_na_sentinel=True)
    out = np.array([_unknown_street(u, idx) or _NO_ADDRESS for u in uniq] + [_NO_ADDRESS], dtype=object)[codes]
    away = foreign[miss]
    if away.any():
        pc = _col(answers, "postcode").iloc[miss[away]].astype(object)
        codes, uniq = pd.factorize(pc, use_na_sentinel=True)
        text = np.array([f"postcode {u!r} is not among the register's (an address of another municipality?)"
                         for u in uniq] + [_NO_ADDRESS], dtype=object)
        out[away] = text[codes]
    return out


def _foreign_postcodes(answers: pd.DataFrame, idx: RegisterIndex) -> np.ndarray:
    """Per answer row: its postcode, written with five digits, is none of the register's (a neighbouring
    municipality's address: its street and number are not looked up without the postcode). A four-digit postcode
    (a lost leading zero or a typo) is not judged."""
    cells = _col(answers, "postcode").astype(object)
    if idx.postcodes <= 1 or not cells.notna().any():
        return np.zeros(len(answers), dtype=bool)
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    plz = idx.codes["plz"]
    per_unique = [bool(re.fullmatch(r"\d{5}(?:[.,]0)?", _COUNTRY.sub("", str(u).strip())))
                  and plz.get(_postcode(u), idx.postcodes)
                  >= idx.postcodes for u in uniques]
    return np.array(per_unique + [False], dtype=bool)[codes]


def _unknown_street(street: object, idx: RegisterIndex) -> str | None:
    """The reason of a row whose street the register does not have at all (else None)."""
    code = idx.codes["street"].get(normalise_street(street)) if isinstance(street, str) else None
    if idx.streets < 0 or (code is not None and code < idx.streets):
        return None
    return (f"the register has no street {street!r} (another spelling, or a prefix such as 'Am' / 'An der' left "
            "out?)")


def _note_points_far_away(answers: pd.DataFrame, positions: np.ndarray, label: np.ndarray, notes: dict[object, str],
                          tolerance_m: float) -> None:
    """The reason of rows whose point has no register address within the tolerance: for a row with only a point
    that is the reason ("no house number" would mislead); else it is added to the address's reason."""
    far = f"no register address within {tolerance_m:g} m of its point"
    bare = _col(answers, "street").isna().to_numpy() & _col(answers, "house_number").isna().to_numpy()
    for p in positions.tolist():
        r = label[p]
        notes[r] = far if bare[p] else f"{notes.get(r, _NO_ADDRESS)}; {far}"


def match_addresses(answers: pd.DataFrame, register: pd.DataFrame, *, tolerance_m: float = 25.0) -> pd.DataFrame:
    """Matches only (row, address_id, method[, distance_m]); see :func:`match`."""
    return match(answers, register, tolerance_m=tolerance_m).matches


def conflicts(answers: pd.DataFrame, matches: pd.DataFrame, existing_supply: pd.DataFrame | None = None,
              notes: dict[object, str] | None = None) -> pd.DataFrame:
    """Conflicts in one answer file: a claim (supply or plan) at an address the register does not have, or at
    several it cannot tell apart; two operators with binding plans for one address; an operator claiming supply
    where the register shows none of that operator (only where the register knows the operator at all).

    Columns: row (answer row label), address_id, kind, detail."""
    notes = notes or {}
    cols = ["row", "address_id", "kind", "detail"]
    rows: list[dict] = []
    matched = pd.unique(matches["row"]) if len(matches) else []
    lost = answers[~answers.index.isin(matched)]
    claims = lost["down_mbps"].fillna(0).gt(0) if "down_mbps" in lost else pd.Series(False, index=lost.index)
    if "planned_technology" in lost:
        claims |= lost["planned_technology"].notna()
    rows += _unplaced_claims(lost[claims], notes)
    if len(matches):
        used = [c for c in ("row", "planned_technology", "binding", "operator", "down_mbps") if c in answers.columns]
        m = matches.merge(answers[used], left_on="row", right_index=True, suffixes=("", "_answer"))
        m["row_no"] = m["row_answer"] if "row_answer" in m else m["row"]
        plans = m[m["planned_technology"].notna() & m["binding"].astype(bool)] if "planned_technology" in m else m[:0]
        multi = plans.groupby("address_id")["operator"].nunique()
        bad = multi[multi > 1].index
        if len(bad):  # several operators of this file plan bindingly at one address
            sub = plans[plans["address_id"].isin(bad)]
            first = sub.groupby("address_id")["row_no"].first()
            names = sub[["address_id", "operator"]].drop_duplicates().sort_values(["address_id", "operator"])
            joined = names.groupby("address_id")["operator"].agg(" and ".join)
            rows += [{"row": first[aid], "address_id": aid, "kind": "two binding plans", "detail": joined[aid]}
                     for aid in bad]
        if existing_supply is not None and len(existing_supply) and {"status", "binding"} <= set(existing_supply):
            ex = existing_supply
            other = ex[(ex["status"] == "planned") & ex["binding"].astype(bool)][["address_id", "operator"]]
            j = plans[["row_no", "address_id", "operator"]].astype({"address_id": str}).merge(
                other.astype({"address_id": str}), on="address_id", suffixes=("", "_other"))
            j = j[j["operator"] != j["operator_other"]]
            rows += _binding_elsewhere(j)
        if existing_supply is not None and len(existing_supply):
            rows += _unknown_supply(m, existing_supply)
    return pd.DataFrame(rows, columns=cols)


def _binding_elsewhere(j: pd.DataFrame) -> list[dict]:
    """One conflict per (row, address, operator) whose binding plan meets other operators' binding plans; the
    detail names all of them, sorted ("A and B")."""
    if not len(j):
        return []
    keys = ["row_no", "address_id", "operator"]
    names = pd.concat([j[keys].assign(name=j["operator"]), j[keys].assign(name=j["operator_other"])])
    names = names.dropna(subset=keys).drop_duplicates().sort_values([*keys, "name"], kind="stable")
    kv, nv = names[keys].to_numpy(dtype=object), names["name"].to_numpy(dtype=object)
    if not len(kv):
        return []
    starts = np.flatnonzero(np.r_[True, (kv[1:] != kv[:-1]).any(axis=1)])  # the groups lie together, in key order
    ends = np.r_[starts[1:], len(kv)]
    return [{"row": kv[a, 0], "address_id": kv[a, 1], "kind": "two binding plans", "detail": " and ".join(nv[a:b])}
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def _unplaced_claims(lost: pd.DataFrame, notes: dict[object, str]) -> list[dict]:
    """Claims of rows placed at no register address: one conflict each ("… claims supply at <address>")."""
    if not len(lost):
        return []
    where = np.full(len(lost), "", dtype=object)
    has = np.zeros(len(lost), dtype=bool)
    for c in ("street", "house_number", "house_number_suffix", "postcode"):
        if c not in lost:
            continue
        ok = lost[c].notna().to_numpy()
        text = lost[c].map(str).to_numpy(dtype=object)  # astype(str) would keep None as NaN
        where = np.where(ok, np.where(has, where + " " + text, text), where)
        has |= ok
    where = np.where(has, where, "?")
    labels = pd.Series(lost.index, index=lost.index)
    note = labels.map(notes) if notes else pd.Series(None, index=lost.index, dtype=object)
    ambiguous = note.fillna("").map(str).str.startswith("ambiguous").to_numpy()
    operator = lost["operator"].map(str).to_numpy(dtype=object) if "operator" in lost else \
        np.full(len(lost), "", dtype=object)
    suffix = np.where(note.notna(), ": " + note.fillna("").map(str), "")
    detail = operator + " claims supply at " + where + suffix
    out = pd.DataFrame({"row": lost["row"] if "row" in lost else labels, "address_id": None,
                        "kind": np.where(ambiguous, "ambiguous address", "address not in the register"),
                        "detail": detail})
    return out.to_dict("records")


def _unknown_supply(m: pd.DataFrame, existing: pd.DataFrame) -> list[dict]:
    """Matched claims of an operator the register knows, at an address where it shows none of that operator's."""
    claims = m[m["down_mbps"].fillna(0).gt(0) & m["operator"].isin(pd.unique(existing["operator"]))]
    if not len(claims):
        return []
    have = pd.DataFrame({"_aid": existing["address_id"].astype(str).to_numpy(),
                         "operator": existing["operator"].to_numpy()}).drop_duplicates()
    j = pd.DataFrame({"row": claims["row_no"].to_numpy(), "address_id": claims["address_id"].to_numpy(),
                      "_aid": claims["address_id"].astype(str).to_numpy(), "operator": claims["operator"].to_numpy()}
                     ).merge(have, on=["_aid", "operator"], how="left", indicator=True)
    j = j[j["_merge"].to_numpy() == "left_only"]
    out = pd.DataFrame({"row": j["row"].to_numpy(), "address_id": j["address_id"].to_numpy(),
                        "kind": "supply unknown to the register",
                        "detail": j["operator"].map(str).to_numpy(dtype=object) + " claims supply the register "
                                                                                    "does not show"})
    return out.to_dict("records")
