import csv

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from foundation.permissions import staff_permission_required
from foundation.view_types import HtmxHttpRequest
from insights import selectors
from insights.forms import PeriodForm

VIEW = "insights.view_insights"
# A cell starting with these is a formula to a spreadsheet: search queries are customer text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@require_GET
@staff_permission_required(VIEW)
def insights_page(request: HtmxHttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    period = form.chosen_period()
    context = {
        "form": form,
        "insights": selectors.insights_for(period),
        "query_string": request.GET.urlencode(),
    }
    return render(request, "insights/insights.html", context)


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@require_GET
@staff_permission_required(VIEW)
def insights_csv(request: HtmxHttpRequest, table: str) -> HttpResponse:
    period = PeriodForm(request.GET or None).chosen_period()
    found = selectors.insights_for(period).tables.get(table)
    if found is None:
        raise Http404
    filename = f"insights-{table}-{period.first_day}-{period.last_day}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so that spreadsheet programs read the accents right
    writer = csv.writer(response)
    writer.writerow([label for _key, label in found.columns])
    for row in found.rows:
        writer.writerow([_cell(row.get(key)) for key, _label in found.columns])
    return response
