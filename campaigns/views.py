from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import selectors
from campaigns.forms import CampaignForm, JobFilterForm
from campaigns.models import CallJob, Campaign
from campaigns.services import control, reports
from campaigns.services.live import campaign_live_context
from campaigns.services.push import campaign_push_request, campaign_push_retry_failed
from dashboard.params import int_param
from dashboard.roles import perm
from dashboard.services import ActionResult


def _toast_detail(result: ActionResult) -> dict[str, str]:
    return {"level": "success" if result.ok else "error", "text": result.summary}


def _toast(response: HttpResponse, result: ActionResult) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"toast": _toast_detail(result)})
    return response


@require_GET
@permission_required(perm("view_campaigns"), raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/campaign_list.html", {"rows": selectors.campaign_list()})


@require_http_methods(["GET", "POST"])
@permission_required(perm("manage_campaigns"), raise_exception=True)
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = form.save(commit=False)
        campaign.owner = request.user
        campaign.save()
        messages.success(request, f"Campaign “{campaign.name}” created. Upload a number list to fill it.")
        return redirect("campaign-detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@permission_required(perm("manage_campaigns"), raise_exception=True)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Campaign saved.")
        return redirect("campaign-detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@require_GET
@permission_required(perm("view_campaigns"), raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("account"), pk=pk)
    context = campaign_live_context(campaign=campaign)
    context["oob"] = False
    filters = JobFilterForm(request.GET or None)
    status = phone = ""
    if filters.is_valid():
        status, phone = filters.cleaned_data["status"], filters.cleaned_data["phone"]
    context.update(
        filters=filters,
        page=selectors.call_job_page(campaign=campaign, status=status, phone=phone,
                                     after=int_param(request.GET.get("after")),
                                     before=int_param(request.GET.get("before")), counts=context["counts"]),
        query=f"status={status}&phone={phone}",
        number_lists=selectors.number_lists(campaign=campaign),
    )
    template = "campaigns/campaign_detail.html"
    if request.htmx and request.htmx.target == "jobs":
        template += "#jobs-table"
    return render(request, template, context)


def _after_action(request: HttpRequest, campaign: Campaign, result: ActionResult) -> HttpResponse:
    if request.htmx:
        context = campaign_live_context(campaign=campaign)
        context["oob"] = False
        response = render(request, "campaigns/campaign_detail.html#campaign-status", context)
        return _toast(response, result)
    (messages.success if result.ok else messages.error)(request, result.summary)
    return redirect("campaign-detail", pk=campaign.pk)


@require_http_methods(["GET", "POST"])
@permission_required(perm("control_campaigns"), raise_exception=True)
def campaign_control(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("account"), pk=pk)
    if action not in control.ACTIONS:
        return HttpResponse(status=404)
    if request.method == "GET":
        # Without JavaScript, stopping goes through this confirmation page.
        return render(request, "campaigns/confirm_control.html", {"campaign": campaign, "action": action})
    result = control.campaign_control(campaign=campaign, action=action, user=request.user)
    return _after_action(request, campaign, result)


@require_POST
@permission_required(perm("control_campaigns"), raise_exception=True)
def campaign_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("account"), pk=pk)
    from dashboard.providers.base import ProviderError

    try:
        info = control.campaign_info_sync(campaign=campaign)
        result = ActionResult(True, f"JAICP reports the campaign {info.status or 'unknown'}.")
    except ProviderError as exc:
        result = ActionResult(False, exc.describe(), error=exc)
    return _after_action(request, campaign, result)


@require_POST
@permission_required(perm("control_campaigns"), raise_exception=True)
def campaign_push(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    campaign_push_request(campaign=campaign)
    result = ActionResult(True, "Push queued: numbers go to JAICP in batches, and the push goes on by itself "
                                "after a restart or a provider outage.")
    if request.htmx:
        context = campaign_live_context(campaign=campaign)
        context.update(oob=False, push_queued=True)
        return _toast(render(request, "campaigns/campaign_detail.html#campaign-push", context), result)
    messages.success(request, result.summary)
    return redirect("campaign-detail", pk=campaign.pk)


@require_POST
@permission_required(perm("control_campaigns"), raise_exception=True)
def campaign_push_retry(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    moved = campaign_push_retry_failed(campaign=campaign)
    if moved:
        campaign_push_request(campaign=campaign)
        result = ActionResult(True, f"{moved} number{'s' if moved != 1 else ''} put back in line and pushed again.")
    else:
        result = ActionResult(False, "No number is waiting for a retry.")
    if request.htmx:
        context = campaign_live_context(campaign=campaign)
        context.update(oob=False)
        return _toast(render(request, "campaigns/campaign_detail.html#campaign-push", context), result)
    (messages.success if result.ok else messages.error)(request, result.summary)
    return redirect("campaign-detail", pk=campaign.pk)


@require_POST
@permission_required(perm("control_campaigns"), raise_exception=True)
def call_jobs_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("account"), pk=pk)
    ids = [i for i in (int_param(v) for v in request.POST.getlist("job")) if i is not None]
    if not ids:
        result = ActionResult(False, "Select the numbers to cancel first.")
    else:
        result = control.call_jobs_cancel(campaign=campaign, job_ids=ids, user=request.user)
    if request.htmx:
        # The jobs table reloads itself on "jobs-changed"; the toast says what happened.
        response = HttpResponse(status=204)
        response["HX-Trigger"] = json.dumps({"jobs-changed": True, "toast": _toast_detail(result)})
        return response
    (messages.success if result.ok else messages.error)(request, result.summary)
    return redirect(reverse("campaign-detail", args=[campaign.pk]) + "#jobs")


@require_http_methods(["GET", "POST"])
@permission_required(perm("view_campaigns"), raise_exception=True)
def call_job_detail(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("account"), pk=pk)
    job = get_object_or_404(CallJob, pk=job_pk, campaign=campaign)
    if request.method == "POST":
        if not request.user.has_perm(perm("control_campaigns")):
            return HttpResponse(status=403)
        from dashboard.providers.base import ProviderError

        try:
            reports.call_jobs_refresh(campaign=campaign, jobs=[job], with_attempts=True)
            messages.success(request, "Read back from JAICP.")
        except ProviderError as exc:
            messages.error(request, exc.describe())
        return redirect("call-job-detail", pk=campaign.pk, job_pk=job.pk)
    return render(request, "campaigns/call_job_detail.html",
                  {"campaign": campaign, "job": job, "attempts": job.attempts.all()})


def _report_rows(campaign: Campaign) -> Iterator[list[str]]:
    from campaigns.importing.report import safe_cell

    jobs = CallJob.objects.filter(campaign=campaign).order_by("pk")
    # Two passes: the reportData columns are the union of every job's keys.
    keys: dict[str, None] = {}
    for data in jobs.filter(report_data__isnull=False).values_list("report_data", flat=True).iterator(chunk_size=5000):
        if isinstance(data, dict):
            keys.update(dict.fromkeys(data))
    payload_keys: dict[str, None] = {}
    for data in jobs.values_list("payload", flat=True).iterator(chunk_size=5000):
        payload_keys.update(dict.fromkeys(data or {}))
    head = ["phone", "job_id", "status", "attempts", "call_duration", "tag", "finished_at", "push_error"]
    yield [*head, *(f"payload.{k}" for k in payload_keys), *(f"report.{k}" for k in keys)]
    fields = ["phone_e164", "provider_job_id", "job_status", "attempts_count", "call_duration", "tag_name",
              "finished_at", "push_error", "payload", "report_data"]
    for row in jobs.values_list(*fields).iterator(chunk_size=5000):
        *plain, payload, data = row
        payload, data = payload or {}, data if isinstance(data, dict) else {}
        # Our own values (a validated E.164 number, ids, statuses, counts, dates) cannot
        # carry a formula; free text (tag, error, payload, report data) may.
        cells = ["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in plain]
        cells[5], cells[7] = safe_cell(cells[5]), safe_cell(cells[7])
        cells += [safe_cell(_text(payload.get(k))) for k in payload_keys]
        cells += [safe_cell(_text(data.get(k))) for k in keys]
        yield cells


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _take(rows: Iterator[list[str]], n: int) -> list[list[str]]:
    return [row for _, row in zip(range(n), rows, strict=False)]


async def _csv_chunks(campaign: Campaign) -> AsyncIterator[str]:
    """Rows are read in the sync thread a few thousand at a time, so a million-row
    export streams without holding the event loop or the whole file."""
    from asgiref.sync import sync_to_async

    writer = csv.writer(_Echo())
    rows = _report_rows(campaign)
    while chunk := await sync_to_async(_take)(rows, 2000):
        yield "".join(writer.writerow(r) for r in chunk)


@require_GET
@permission_required(perm("view_campaigns"), raise_exception=True)
def campaign_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    response = StreamingHttpResponse(_csv_chunks(campaign), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-report.csv"'
    return response


# --- Number lists ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required(perm("manage_campaigns"), raise_exception=True)
def number_list_upload(request: HttpRequest, pk: int) -> HttpResponse:
    from campaigns.forms import UploadForm
    from campaigns.services.imports import ImportRefused, number_list_create

    campaign = get_object_or_404(Campaign, pk=pk)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            number_list = number_list_create(
                campaign=campaign, upload=form.cleaned_data["file"], user=request.user,
                default_region=form.cleaned_data["default_region"], recent_days=form.cleaned_data["recent_days"])
        except ImportRefused as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("number-list-detail", pk=campaign.pk, list_pk=number_list.pk)
    return render(request, "campaigns/number_list_upload.html", {"campaign": campaign, "form": form})


@require_http_methods(["GET", "POST"])
@permission_required(perm("view_campaigns"), raise_exception=True)
def number_list_detail(request: HttpRequest, pk: int, list_pk: int) -> HttpResponse:
    from campaigns.forms import MappingForm
    from campaigns.importing.mapping import MappingError
    from campaigns.models import NumberList
    from campaigns.services.imports import calling_window_preview, number_list_queue
    from campaigns.tasks import number_lists_import_task

    campaign = get_object_or_404(Campaign, pk=pk)
    number_list = get_object_or_404(NumberList, pk=list_pk, campaign=campaign)
    columns = number_list.detected.get("columns", [])
    form = None
    if number_list.state == NumberList.State.UPLOADED:
        if request.method == "POST" and not request.user.has_perm(perm("manage_campaigns")):
            return HttpResponse(status=403)
        mapping = number_list.mapping
        initial = {"phone": mapping.get("phone"), "time_zone": mapping.get("time_zone") or "",
                   "payload": mapping.get("payload"), "default_region": number_list.default_region,
                   "recent_days": number_list.recent_days,
                   **{f"policy_{k}": v for k, v in (mapping.get("policy") or {}).items()}}
        form = MappingForm(request.POST or None, columns=columns, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                number_list_queue(number_list=number_list, mapping=form.mapping(),
                                  default_region=form.cleaned_data["default_region"],
                                  recent_days=form.cleaned_data["recent_days"])
            except MappingError as exc:
                for problem in exc.problems:
                    form.add_error(None, problem)
            else:
                number_lists_import_task.enqueue(campaign.pk)
                messages.success(request, f"{number_list.original_name} is queued for import.")
                return redirect("number-list-detail", pk=campaign.pk, list_pk=number_list.pk)
    elif request.method == "POST":
        return redirect("number-list-detail", pk=campaign.pk, list_pk=number_list.pk)
    window = None
    if number_list.state == NumberList.State.IMPORTED and number_list.summary.get("valid"):
        window = calling_window_preview(number_list=number_list)
    return render(request, "campaigns/number_list_detail.html", {
        "campaign": campaign, "nl": number_list, "form": form, "columns": columns,
        "sample": number_list.detected.get("rows", []), "window": window,
    })


@require_GET
@permission_required(perm("view_campaigns"), raise_exception=True)
def number_list_errors(request: HttpRequest, pk: int, list_pk: int) -> HttpResponse:
    from django.http import FileResponse, Http404

    from campaigns.models import NumberList

    number_list = get_object_or_404(NumberList, pk=list_pk, campaign_id=pk)
    if not number_list.error_report:
        raise Http404("This list has no rejected rows.")
    return FileResponse(number_list.error_report.open("rb"), as_attachment=True,
                        filename=f"{number_list.original_name.rsplit('.', 1)[0]}-errors.csv", content_type="text/csv")


# --- Do-not-call list -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required(perm("manage_campaigns"), raise_exception=True)
def dnc_list(request: HttpRequest) -> HttpResponse:
    from campaigns.forms import DncAddForm, DncImportForm
    from campaigns.models import DoNotCallEntry
    from campaigns.services.dnc import dnc_add, dnc_import

    add_form = DncAddForm(request.POST if "add" in request.POST else None)
    import_form = DncImportForm(request.POST if "import" in request.POST else None,
                                request.FILES if "import" in request.POST else None)
    if request.method == "POST":
        if "add" in request.POST and add_form.is_valid():
            entry, created = dnc_add(phone=add_form.cleaned_data["phone"], reason=add_form.cleaned_data["reason"],
                                     region=add_form.cleaned_data["region"], user=request.user)
            messages.success(request, f"{entry.phone_e164} {'added to' if created else 'is already on'} the do-not-call list.")
            return redirect("dnc-list")
        if "import" in request.POST and import_form.is_valid():
            result = dnc_import(upload=import_form.cleaned_data["file"], region=import_form.cleaned_data["region"],
                                user=request.user)
            messages.success(request, f"Do-not-call import: {result.added} added, {result.already} already listed, "
                                      f"{result.invalid} not valid numbers.")
            return redirect("dnc-list")
        if "remove" in request.POST:
            pk = int_param(request.POST.get("remove"))
            if pk is not None and DoNotCallEntry.objects.filter(pk=pk).delete()[0]:
                messages.success(request, "Removed from the do-not-call list.")
            else:
                messages.error(request, "That number is not on the do-not-call list.")
            return redirect("dnc-list")
    query = request.GET.get("q", "")
    entries = DoNotCallEntry.objects.all()
    if query:
        entries = entries.filter(phone_e164__contains="".join(c for c in query if c.isdigit()))
    return render(request, "campaigns/dnc_list.html", {
        "entries": entries[:200], "total": DoNotCallEntry.objects.count(), "add_form": add_form,
        "import_form": import_form, "query": query,
    })
