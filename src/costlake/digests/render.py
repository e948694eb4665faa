"""A digest as people read it: a plain-text part, an HTML part with an inline chart (matplotlib, rendered on the
server), and a Slack message. Money stays exact decimal text; only the chart's bar heights are floats."""

from __future__ import annotations

import io
from decimal import Decimal
from html import escape
from typing import Any

from costlake.digests.summary import Summary, ViewSummary
from costlake.text import decimal_text, money_text, utc_text

CHART_CID = "digest-chart"


def _money(amount: Decimal | None, currency: str) -> str:
    return "n/a" if amount is None else f"{currency} {money_text(amount)}"


def _change(now: Decimal, before: Decimal) -> str:
    delta = now - before
    sign = "+" if delta >= 0 else "-"
    percent = "new" if before == 0 else f"{sign}{abs(delta / abs(before) * 100).quantize(Decimal('0.1'))}%"
    return f"{sign}{money_text(abs(delta))} ({percent})"


def _unit_line(view: ViewSummary) -> list[str]:
    if view.unit is None:
        return []
    name, unit, scale = view.unit
    per = f"per {scale:,} {unit}" if scale != 1 else f"per {unit.rstrip('s') or unit}"
    lines = []
    for currency in sorted(set(view.unit_now) | set(view.unit_before)):
        now, before = view.unit_now.get(currency), view.unit_before.get(currency)
        if now is None:
            lines.append(f"Unit cost ({name}, {per}): no metric values in this period")
        elif before is None:
            lines.append(f"Unit cost ({name}, {per}): {currency} {decimal_text(now)} (no value the period before)")
        else:
            lines.append(f"Unit cost ({name}, {per}): {currency} {decimal_text(now)}, was {decimal_text(before)} ({_change(now, before).split(' ')[1][1:-1]})")
    return lines


def view_lines(view: ViewSummary) -> list[str]:
    lines = [f"== {view.name} =="]
    for currency in sorted(set(view.totals) | set(view.previous)):
        now, before = view.totals.get(currency, Decimal(0)), view.previous.get(currency, Decimal(0))
        lines.append(f"Total: {_money(now, currency)}, {_change(now, before)} on the previous period ({_money(before, currency)})")
    lines += _unit_line(view)
    if view.movers:
        lines.append(f"Top movers by {view.dimension}:")
        lines += [f"  {m.group or '(none)'}: {m.currency} {money_text(m.now)}, {_change(m.now, m.before)}" for m in view.movers]
    return lines


def text_part(summary: Summary) -> str:
    lines = [f"{summary.digest}: {summary.period.label()} (UTC)", ""]
    for view in summary.views:
        lines += [*view_lines(view), ""]
    if summary.events:
        lines.append("Events in the period:")
        lines += [f"  {utc_text(e.starts_at)[:16].replace('T', ' ')} [{e.category}] {e.title}" for e in summary.events]
    else:
        lines.append("No events in the period.")
    lines += ["", f"Freshness: {summary.freshness}"]
    return "\n".join(lines) + "\n"


def html_part(summary: Summary, with_chart: bool) -> str:
    parts = [f"<h2>{escape(summary.digest)}</h2><p>{escape(summary.period.label())} (UTC)</p>"]
    if with_chart:
        parts.append(f'<p><img src="cid:{CHART_CID}" alt="Daily cost" width="640"></p>')
    for view in summary.views:
        lines = view_lines(view)
        parts.append(f"<h3>{escape(lines[0].strip('= '))}</h3><ul>" + "".join(f"<li>{escape(line.strip())}</li>" for line in lines[1:]) + "</ul>")
    events = "".join(f"<li>{escape(utc_text(e.starts_at)[:16].replace('T', ' '))} [{escape(e.category)}] "
                     + (f'<a href="{escape(e.url)}">{escape(e.title)}</a>' if e.url else escape(e.title)) + "</li>" for e in summary.events)
    parts.append(f"<h3>Events</h3><ul>{events}</ul>" if events else "<p>No events in the period.</p>")
    parts.append(f"<p><small>Freshness: {escape(summary.freshness)}</small></p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def chart_png(view: ViewSummary) -> bytes | None:
    """Daily cost of the first view's main currency as bars; None when there is nothing to draw."""
    if not view.daily:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 3), dpi=80)
    try:
        axes.bar([day.isoformat()[5:] for day, _ in view.daily], [float(cost) for _, cost in view.daily], color="#3b6fb6")
        axes.set_title(f"{view.name}: daily cost ({view.currency})")
        axes.tick_params(axis="x", labelrotation=45, labelsize=7)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        pyplot.close(figure)


def slack_message(summary: Summary) -> dict[str, Any]:
    text = text_part(summary)
    return {"text": f"{summary.digest}: {summary.period.label()}", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"```{text[:2900]}```"}}]}
