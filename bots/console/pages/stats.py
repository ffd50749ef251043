"""Statistics by category, grid or period, as a page with a chart and as CSV."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from bots.console import auth
from bots.console.charts import grouped_bars
from bots.console.render import page
from bots.console.views import date_range, grids_in_scope
from bots.deps import SessionDep, ViewerDep
from core import stats
from core.grids import LEVEL_LABELS, Level
from core.models import utcnow
from core.search import BadQuery, TicketFilter

DIMENSIONS = {"category": "按类别", "grid": "按网格", "day": "按日", "week": "按周", "month": "按月"}
router = APIRouter()


def report_of(request: Request, s: Session, v: auth.Viewer) -> stats.Report:
    """The report the query string asks for (?by=&level=&from=&to=&grid=); BadQuery says what is wrong."""
    p = request.query_params
    dimension = p.get("by") or "category"
    if dimension not in stats.DIMENSIONS:
        raise BadQuery(f"by must be one of {', '.join(stats.DIMENSIONS)}")
    try:
        level = Level(p.get("level") or "community")
    except ValueError:
        raise BadQuery("level must be street, community or grid") from None
    start, end = date_range(p.get("from"), p.get("to"))
    flt = TicketFilter(grid_id=p.get("grid") or None)
    return stats.report(s, v.scope, dimension=dimension, start=start, end=end, grid_level=level, flt=flt, now=utcnow())


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, s: SessionDep, v: ViewerDep) -> HTMLResponse:
    try:
        rep = report_of(request, s, v)
        error = ""
    except BadQuery as exc:
        rep, error = stats.Report("category", None, None, stats.StatsRow("total", "合计")), str(exc)
    return page(request, "stats.html", v, rep=rep, chart=grouped_bars(rep.rows), error=error, params=request.query_params,
                query=urlencode(list(request.query_params.multi_items())), grids=grids_in_scope(s, v.scope),
                levels=[(lv.value, LEVEL_LABELS[lv]) for lv in stats.level_choices()], dimensions=DIMENSIONS)


@router.get("/stats.csv")
def stats_csv(request: Request, s: SessionDep, v: ViewerDep) -> Response:
    try:
        rep = report_of(request, s, v)
    except BadQuery as exc:
        raise HTTPException(400, str(exc)) from None
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=stats.CSV_COLUMNS)
    writer.writeheader()
    for row in [*rep.rows, rep.total]:
        writer.writerow(row.as_dict())
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="linli-stats-{rep.dimension}.csv"'})
