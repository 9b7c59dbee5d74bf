"""The circular as HTML (Jinja2, templates/) and as PDF (WeasyPrint), in Chinese.

One HTML document serves both: the stored HTML names its fonts by family (a reader's browser
uses what it has), the PDF gets the font files through an extra @font-face stylesheet.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import date, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import charts
from .circular import CircularData
from .fonts import font_face_css
from .kpis import Rate
from .panel import CRITERIA, TOTAL as PANEL_TOTAL
from .ranking import DEFAULT_WEIGHTS

TEMPLATE = "circular.html.j2"
TEMPLATE_VERSION = "1"
INSUFFICIENT = "样本不足"
COMPONENT_LABELS = {"on_time_sign": "按时签收率", "on_time_completion": "按时办结率", "response": "响应率",
                    "resolution": "解决率", "satisfaction": "满意率", "reopen": "重办率（逆向）",
                    "return_": "退单率（逆向）", "extension": "延期率（逆向）", "panel": "第三方评议"}
STATUS_LABELS = {"signing": "待签收", "handling": "办理中", "extension_requested": "延期审批中", "reviewing": "审核中",
                 "awaiting_info": "待补充材料", "returned": "退回待派", "replied": "已答复", "escalated": "已上报",
                 "closed": "已办结", "triage": "待分派", "received": "已受理", "rejected": "不予受理", "diverted": "已分流"}


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes
    pages: int


def percent(rate: Rate) -> str:
    return INSUFFICIENT if not rate.sufficient else f"{rate.value * 100:.1f}%"


def chinese_date(value: date | datetime) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def month_day(value: date | datetime) -> str:
    return f"{value.month}月{value.day}日"


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def change(current: int, previous: int) -> str:
    """"增长12.5%" / "下降3.0%" / "持平" against the previous quarter."""
    if not previous:
        return ""
    ratio = (current - previous) / previous
    return "持平" if abs(ratio) < 0.0005 else f"{'增长' if ratio > 0 else '下降'}{abs(ratio) * 100:.1f}%"


def data_uri(svg: str) -> str:
    """An SVG as an image source that browsers and WeasyPrint both read, inside one HTML file."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("workflows.evaluation", "templates"),
                              autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(percent=percent, cn_date=chinese_date, month_day=month_day, number=number)
    environment.globals.update(INSUFFICIENT=INSUFFICIENT, STATUS=STATUS_LABELS, COMPONENT=COMPONENT_LABELS,
                               CRITERIA=CRITERIA, PANEL_TOTAL=PANEL_TOTAL)
    return environment


ENVIRONMENT = _environment()


def render_html(data: CircularData) -> str:
    labels = [f"{w.first.month}/{w.first.day}" for w in data.weeks]
    local = data.generated_at.astimezone(data.tz)
    city = data.kpis.city
    ranked = [r for r in data.ranking if r.rank is not None]
    below = [d.department_name for d in data.kpis.departments if d.on_time_completion.sufficient
             and city.on_time_completion.sufficient and d.on_time_completion.value < city.on_time_completion.value]
    return ENVIRONMENT.get_template(TEMPLATE).render(
        d=data, city=city, issued=local.date(), as_of=local, ranked=ranked,
        unranked=[r for r in data.ranking if r.rank is None], below_city=below,
        change=change(city.petitions, data.previous_city_petitions),
        volume_by_type={label: sum(counts) for label, counts in data.volume_by_type.items()},
        weights=[(COMPONENT_LABELS[name], value) for name, value in data.weights.values.items() if value],
        default_weights=DEFAULT_WEIGHTS == dict(data.weights.values),
        chart_volume=data_uri(charts.weekly_volume(labels, data.volume_by_type)),
        chart_on_time=data_uri(charts.on_time_by_department([d for d in data.kpis.departments if d.petitions], city)),
        chart_late=data_uri(charts.late_trend(labels, data.late_by_week)),
    )


def render_pdf(html: str) -> tuple[bytes, int]:
    """The PDF of the circular's HTML and its page count (fonts embedded as subsets)."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    document = HTML(string=html).render(stylesheets=[CSS(string=font_face_css(html), font_config=fonts)],
                                        font_config=fonts)
    buffer = io.BytesIO()
    document.write_pdf(buffer)
    return buffer.getvalue(), len(document.pages)


def render(data: CircularData) -> Rendered:
    html = render_html(data)
    pdf, pages = render_pdf(html)
    return Rendered(html, pdf, pages)
