from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, reswap, retarget

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Role
from studio.catalog.tables import ENDPOINT_PATHS, GENERATIONS, MODELS
from studio.errors import StudioError
from studio.front.forms import ImageForm
from studio.generations import runner
from studio.generations.models import Asset, Job, JobKind

RECENT = 12


def jobs_for_cards(workspace):
    """Jobs with what their cards show, in as few queries as possible."""
    return (
        Job.objects.for_workspace(workspace)
        .select_related("user", "reservation__settlement", "source_asset")
        .prefetch_related(Prefetch("assets", queryset=Asset.objects.order_by("id")))
    )


def _get_job_for_user(request, public_id: str) -> Job:
    """The job with this id in the caller's workspace; 404 for anyone else's."""
    return get_object_or_404(jobs_for_cards(request.workspace), public_id=public_id)


def _may_change(request, job: Job) -> bool:
    return job.user_id == request.user.id or request.membership.is_admin


def refuse(request, error: StudioError, target: str, fallback: str):
    """Answer a refused form: the message next to the form (`target`) for htmx, else a
    flash message on `fallback`. Nothing was queued or charged."""
    if request.htmx:
        response = render(request, "front/studio.html#feedback", {"error": error})
        return reswap(retarget(response, target), "innerHTML")
    messages.error(request, error.message)
    return redirect(fallback)


def render_card(request, job: Job, status: int = 200, balance: bool = False):
    return render(
        request, "front/_job_card.html", {"job": job, "oob_balance": balance}, status=status
    )


@workspace_required
def studio(request):
    form = ImageForm.read(request.GET)
    mine_first = Case(
        When(user=request.user, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    jobs = list(
        jobs_for_cards(request.workspace)
        .annotate(mine=mine_first)
        .order_by("mine", "-created_at")[: RECENT * 2]
    )
    running = sum(1 for j in jobs if not j.is_final)
    return render(
        request,
        "front/studio.html",
        {
            "form": form,
            "jobs": jobs,
            "running": running,
            "can_create": request.membership.can_create,
        },
    )


@require_GET
@workspace_required
def generate_options(request):
    """The model-specific options and the cost on the button, for the current choices."""
    return render(
        request, "front/studio.html#generate-options", {"form": ImageForm.read(request.GET)}
    )


@require_POST
@workspace_required(role=Role.MEMBER)
def generate(request):
    form = ImageForm.read(request.POST, endpoint=GENERATIONS)
    try:
        if form.error:
            raise form.error
        job = runner.submit(
            workspace=request.workspace,
            user=request.user,
            kind=JobKind.GENERATE,
            request=form.request(),
            prompt=request.POST.get("prompt", ""),
        )
    except StudioError as e:
        return refuse(request, e, "#generate-feedback", "studio")
    if request.htmx:
        return render_card(request, _get_job_for_user(request, job.public_id), balance=True)
    return redirect("studio")


@require_GET
@workspace_required
def job_card(request, public_id: str):
    """One job's card. Active cards poll this; a final one answers 286 to stop polling."""
    job = _get_job_for_user(request, public_id)
    runner.nudge(job)
    if job.is_final:
        return render_card(request, job, status=HttpResponseStopPolling.status_code, balance=True)
    return render_card(request, job)


@require_POST
@workspace_required(role=Role.MEMBER)
def cancel_job(request, public_id: str):
    job = _get_job_for_user(request, public_id)
    if not _may_change(request, job):
        raise PermissionDenied("Only its owner or an admin can cancel this job.")
    if not runner.cancel(job):
        messages.warning(request, "It had already started, so it can't be cancelled.")
    job = _get_job_for_user(request, public_id)
    if request.htmx:
        return render_card(request, job, balance=True)
    return redirect("studio")


@require_POST
@workspace_required(role=Role.MEMBER)
def retry_job(request, public_id: str):
    job = _get_job_for_user(request, public_id)
    try:
        new = runner.retry(job, request.user)
    except StudioError as e:
        return refuse(request, e, f"#job-{job.public_id} .card-feedback", "studio")
    if request.htmx:
        response = render_card(request, _get_job_for_user(request, new.public_id), balance=True)
        return reswap(retarget(response, "#jobs"), "afterbegin")
    return redirect("studio")


def catalog(request):
    """Every model, alias and price, from the same tables the quotes use. Open to everyone."""
    models = [
        {
            "id": m.id,
            "name": m.name,
            "kind": m.kind,
            "aliases": m.aliases,
            "best_for": m.best_for,
            "table": m.price_table(),
            "endpoint_paths": [ENDPOINT_PATHS[e] for e in m.endpoints],
        }
        for m in MODELS.values()
    ]
    return render(request, "front/catalog.html", {"models": models})
