"""A small HTML report page: headings, tables, embedded charts (matplotlib, as PNG data) and an iframe map.

Every value from data is escaped (titles, notes, table cells); the page has no script and its CSP forbids any."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from netzatlas.reports.safe_html import PAGE_CSP, meta_tag  # noqa: E402


def chart_png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def bar_chart(labels: list[str], values: list[float], title: str, ylabel: str, color: str = "#2b83ba") -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(range(len(values)), values, color=color)
    ax.set_xticks(range(len(values)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return chart_png(fig)


def histogram(values: pd.Series, title: str, xlabel: str, bins: int = 40) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.hist(values.dropna(), bins=bins, color="#1a9641")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    return chart_png(fig)


def write_page(path: Path, title: str, intro: str, blocks: list[tuple[str, str]], map_file: str | None = None,
               notes: list[str] | None = None, sources: list[str] | None = None) -> Path:
    """``blocks``: (heading, html) — build the html with ``table()`` and ``img()`` only (they escape data);
    ``sources``: the data sources with their vintage, listed in the header under the title."""
    body = "".join(f"<h2>{html.escape(h)}</h2>{b}" for h, b in blocks)
    mp = f"<h2>Karte / map</h2><iframe title='Karte / map' src='{html.escape(map_file)}'></iframe>" if map_file else ""
    nt = "".join(f"<li>{html.escape(n)}</li>" for n in notes or [])
    nt = f"<h2>Hinweise und Annahmen / notes and assumptions</h2><ul>{nt}</ul>" if nt else ""
    src = "".join(f"<li>{html.escape(s)}</li>" for s in sources or [])
    src = f"<div class='sources'><b>Datenquellen und Stand / data sources and vintage</b><ul>{src}</ul></div>" \
        if src else ""
    path.write_text(f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">{meta_tag(PAGE_CSP)}
<title>{html.escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}} table{{border-collapse:collapse;
font-size:12px}} td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}} iframe{{width:100%;
height:560px;border:1px solid #ccc}} .sources{{background:#f4f4f4;padding:.4em .8em;font-size:12px}}
table.kv td,table.kv th{{text-align:left}}</style></head><body><h1>{html.escape(title)}</h1>{src}
<p>{html.escape(intro)}</p>
{mp}{body}{nt}</body></html>""", encoding="utf-8")
    return path


def table(df: pd.DataFrame, rows: int = 30, labels: dict[str, str] | None = None) -> str:
    """``df`` as an HTML table (columns renamed by ``labels``); cell values and column names are escaped."""
    d = df.head(rows).rename(columns=labels or {})
    return d.to_html(index=False, border=0, escape=True, na_rep="—", float_format=lambda v: f"{v:,.1f}")


def key_values(rows: list[tuple[str, object]]) -> str:
    """A two-column table (measure, value) — a summary a person reads down, not one wide row; escaped."""
    def fmt(v: object) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return "—"
        if isinstance(v, bool):
            return "ja / yes" if v else "nein / no"
        if isinstance(v, int):
            return f"{v:,}"
        if isinstance(v, float):
            return f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}"
        return str(v)
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(fmt(v))}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


def img(b64: str) -> str:
    return f"<img alt='chart' src='data:image/png;base64,{html.escape(b64)}'>"
