"""The costs page's chart: monthly cost over time as an inline SVG line, drawn server-side.

Pure: points in, markup out (escaped by the template engine, attributes are numbers only).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

WIDTH, HEIGHT, PAD = 640, 240, 40


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str  # the point's date and total, for its <title>


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    path: str  # the polyline's "x,y x,y ..." (numbers only)
    points: list[ChartPoint]
    low: str
    high: str
    first: str
    last: str


def cost_chart(points: list[dict[str, Any]]) -> Chart | None:
    """``points`` newest first, as ``runs.costs.cost_history`` returns them; ``None`` when
    nothing can be drawn."""
    values: list[tuple[str, Decimal]] = []
    for point in reversed(points):  # oldest on the left
        try:
            values.append((str(point["created_at"])[:10], Decimal(point["total_monthly_cost"])))
        except (InvalidOperation, KeyError, TypeError):
            continue
    if not values:
        return None
    low = min(v for _, v in values)
    high = max(v for _, v in values)
    span = high - low or Decimal(1)
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    drawn = []
    for index, (day, value) in enumerate(values):
        x = PAD + index * step
        y = HEIGHT - PAD - float((value - low) / span) * (HEIGHT - 2 * PAD)
        drawn.append(ChartPoint(round(x, 1), round(y, 1), f"{day}: {value:.2f}/month"))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        path=" ".join(f"{p.x},{p.y}" for p in drawn),
        points=drawn,
        low=f"{low:.2f}",
        high=f"{high:.2f}",
        first=values[0][0],
        last=values[-1][0],
    )
