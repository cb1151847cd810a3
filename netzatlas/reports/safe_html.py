"""Untrusted text is never markup in a report: escaping helpers and the reports' Content-Security-Policy.

Every value that comes from data (feature, street, operator and file names, reasons, ids) is escaped before it
reaches a page. Two places need care beyond ``html.escape``:

- folium renders ``GeoJsonTooltip``/``GeoJsonPopup`` fields and layer names with ``innerHTML`` and does NOT escape
  them: the values are escaped in the data handed to folium (:func:`escape_frame`), so Leaflet shows them as text.
- ``folium.Tooltip``/``folium.Popup`` text is pasted raw into a JavaScript template literal (backticks) inside an
  inline script, where ``${…}`` would run: :func:`js_template_text` escapes HTML and the template-literal syntax.

The report pages without script get a CSP ``<meta>`` that forbids every script (:data:`PAGE_CSP`). folium maps
need inline script, so :func:`add_hash_csp` allows exactly the inline scripts folium wrote (by their SHA-256
hashes) and nothing else: a script that data smuggled into the page would not match a hash and does not run.
Escaping remains the defence there; the policy is the second line.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

#: For report pages that carry no script at all (tables, charts as data: PNGs, the map in an iframe).
PAGE_CSP = ("default-src 'none'; script-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
            "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script", re.IGNORECASE | re.DOTALL)


def text(value: object) -> str:
    """``value`` as HTML text (``None`` and NaN as empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def js_template_text(value: object) -> str:
    """Text safe inside folium's ``Tooltip``/``Popup`` (an HTML string in a JS template literal)."""
    return text(value).replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def escape_frame(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """A copy of ``df`` with ``columns`` as escaped HTML text (for folium's GeoJSON tooltips and popups)."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = [text(v) for v in out[c].astype(object)]
    return out


def meta_tag(policy: str) -> str:
    return f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy, quote=True)}">'


def page_head(title: str, style: str) -> str:
    """``<head>`` of a report page without script: charset, the CSP and the page's own style."""
    return (f'<head><meta charset="utf-8">{meta_tag(PAGE_CSP)}<meta name="referrer" content="no-referrer">'
            f"<title>{text(title)}</title><style>{style}</style></head>")


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an XYZ tile template (``{s}`` subdomains as a wildcard), else None."""
    if not url:
        return None
    parts = urlsplit(url.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.split("@")[-1]
    if url.split("://", 1)[-1].startswith("{s}."):
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def hash_csp(page: str, origins: Iterable[str] = ()) -> str:
    """The policy for a folium page: its own inline scripts by hash, local files, images from ``origins``."""
    hashes = []
    for m in _INLINE_SCRIPT.finditer(page):
        if re.search(r"\ssrc\s*=", m.group("attrs"), re.IGNORECASE):
            continue
        body = m.group("body").replace("\r\n", "\n").replace("\r", "\n")  # as the HTML parser normalises it
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
    extra = "".join(f" {o}" for o in sorted(set(origins)))
    return (f"default-src 'none'; script-src 'self' {' '.join(dict.fromkeys(hashes))}; "
            f"style-src 'self' 'unsafe-inline'; img-src 'self' data:{extra}; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'none'")


def add_hash_csp(path: Path, origins: Iterable[str] = ()) -> None:
    """Put a CSP ``<meta>`` allowing only the page's own inline scripts into the ``<head>`` of ``path``."""
    page = path.read_text(encoding="utf-8")
    tag = meta_tag(hash_csp(page, origins)) + '<meta name="referrer" content="no-referrer">'
    head = re.search(r"<head(?:\s[^>]*)?>", page, re.IGNORECASE)
    if head is None:
        page = tag + page
    else:
        page = page[:head.end()] + tag + page[head.end():]
    path.write_text(page, encoding="utf-8")
