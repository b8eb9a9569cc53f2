"""Small server-rendered SVG charts: coordinates are computed here, the markup lives in
templates/insights/partials/. Every chart also has its numbers in a table beside it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    label: str
    points: str  # "x,y x,y ..." for <polyline>
    dashed: bool
    last_x: float
    last_y: float
    last_value: int
    # The last stretch, to a period still under way (today, a week not over): drawn apart so
    # that fewer cases so far does not read as a drop.
    partial_points: str = ""


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: list[Line]
    max_value: int
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]


def _points(values: list[int], *, width: float, height: float, top: int, pad: float) -> list:
    count = max(len(values) - 1, 1)
    scale = top or 1
    return [
        (round(pad + width * index / count, 1), round(pad + height - height * value / scale, 1))
        for index, value in enumerate(values)
    ]


def line_chart(
    series: list[tuple[str, list[int], bool]],
    *,
    x_labels: list[str],
    width: int = 640,
    height: int = 200,
    partial_last: bool = False,
) -> LineChart:
    """Lines over the same x positions; ``series`` items are (label, values, dashed). With
    ``partial_last`` the last point of each solid line is a period still under way."""
    pad = 28.0
    inner_width, inner_height = width - 2 * pad, height - 2 * pad
    top = max((max(values, default=0) for _, values, _ in series), default=0)
    lines = []
    for label, values, dashed in series:
        points = _points(values, width=inner_width, height=inner_height, top=top, pad=pad)
        if not points:
            continue
        last_x, last_y = points[-1]
        partial = partial_last and not dashed and len(points) > 1
        drawn = points[:-1] if partial else points
        lines.append(
            Line(
                label=label,
                points=" ".join(f"{x},{y}" for x, y in drawn),
                partial_points=" ".join(f"{x},{y}" for x, y in points[-2:]) if partial else "",
                dashed=dashed,
                last_x=last_x,
                last_y=last_y,
                last_value=values[-1],
            )
        )
    positions = _points([0] * len(x_labels), width=inner_width, height=inner_height, top=1, pad=pad)
    step = max(1, len(x_labels) // 6)
    labelled = [(positions[i][0], x_labels[i]) for i in range(0, len(x_labels), step)]
    ticks = [
        (round(pad + inner_height - inner_height * share, 1), round(top * share))
        for share in (0, 0.5, 1)
    ]
    return LineChart(width, height, lines, top, labelled, ticks if top else [])


def sparkline(values: list[int], *, width: int = 120, height: int = 28) -> str:
    """The points of a tiny trend line (no axes: the numbers are in the row beside it)."""
    top = max(values, default=0)
    return " ".join(
        f"{x},{y}" for x, y in _points(values, width=width - 4, height=height - 4, top=top, pad=2)
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width_percent: float
    note: str = ""


def bars(items: list[tuple[str, int, str]]) -> list[Bar]:
    """Horizontal bars scaled to the largest value; items are (label, value, note)."""
    top = max((value for _, value, _ in items), default=0) or 1
    return [Bar(label, value, round(100 * value / top, 1), note) for label, value, note in items]
