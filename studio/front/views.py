from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Role
from studio.catalog.tables import ENDPOINT_PATHS, MODELS
from studio.credits import ledger
from studio.errors import StudioError
from studio.front.board_picker import board_picker, picked_board, remember_board
from studio.front.forms import ImageForm, VideoForm
from studio.front.references import read_references, store_uploads
from studio.generations import runner
from studio.generations.models import Asset, Job

RECENT = 12
# The most cards one poll of a page asks about (a page shows far fewer).
POLL_MAX = 50
# Sent when credits may have moved: the composer re-checks its price against the balance.
REFRESH = "studio:refresh"
# Where a card's refused Re-run or Vary says why: the feedback box after the form (on a job
# card or an asset page alike).
NEXT_FEEDBACK = "next .card-feedback"
# What the composer's option fragments need to know about the page they sit in.
COMPOSER = {
    "options_id": "generate-options",
    "options_url": reverse_lazy("generate_options"),
    "verdict_id": "generate-verdict",
    "feedback_id": "generate-feedback",
}


def jobs_for_cards(membership):
    """The jobs of `membership`'s workspace with what their cards show, in as few queries as
    possible: of their outputs, those this member may see (not trashed, private only if
    theirs or they are an admin)."""
    outputs = Asset.objects.visible_to(membership).order_by("id")
    return (
        Job.objects.for_workspace(membership.workspace_id)
        .select_related("user", "reservation__settlement", "source_asset", "board")
        .prefetch_related(Prefetch("assets", queryset=outputs))
    )


def _get_job_for_user(request, public_id: str) -> Job:
    """The job with this id in the caller's workspace; 404 for anyone else's."""
    return get_object_or_404(jobs_for_cards(request.membership), public_id=public_id)


def next_url(request, default: str) -> str:
    """Where a form sends the person back: its `next` field when that is a path of this
    site (a gallery view with its filters, say), else `default`."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return default


def _may_change(request, job: Job) -> bool:
    return job.user_id == request.user.id or request.membership.is_admin


def refuse(request, error: StudioError, target: str, fallback: str):
    """Answer a refused form: the message next to the form (`target`) for htmx, else a
    flash message on `fallback`. Nothing was queued or charged."""
    if request.htmx:
        response = render(request, "front/_feedback.html", {"error": error})
        return reswap(retarget(response, target), "innerHTML")
    messages.error(request, error.message)
    return redirect(fallback)


def render_card(request, job: Job):
    """A card just made or changed by the person, with the balance its credits moved."""
    response = render(request, "front/_job_card.html", {"job": job, "oob_balance": True})
    return trigger_client_event(response, REFRESH)


# ---- the studio page and its composer --------------------------------------------------------


def composer_form(request, data, *, strict: bool = False, references=None):
    """The composer's form for the mode in `data` ("image", the default, or "video")."""
    if references is None:
        references = read_references(request, data)
    form_class = VideoForm if data.get("mode") == "video" else ImageForm
    return form_class.read(
        data, strict=strict, references=references, balance=ledger.balance(request.workspace)
    )


def composer_context(form) -> dict:
    video = isinstance(form, VideoForm)
    return {
        **COMPOSER,
        "form": form,
        "mode": "video" if video else "image",
        "submit_label": "Make the video" if video else "Generate",
    }


@workspace_required
def studio(request):
    form = composer_form(request, request.GET)
    mine_first = Case(
        When(user=request.user, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    jobs = list(
        jobs_for_cards(request.membership)
        .annotate(mine=mine_first)
        .order_by("mine", "-created_at")[: RECENT * 2]
    )
    running = sum(1 for j in jobs if not j.is_final)
    return render(
        request,
        "front/studio.html",
        {
            **composer_context(form),
            "prompt": request.GET.get("prompt", ""),
            "jobs": jobs,
            "running": running,
            "can_create": request.membership.can_create,
            **board_picker(request, request.GET),
        },
    )


@require_GET
@workspace_required
def generate_options(request):
    """The model-specific options and the cost on the button, for the current choices."""
    form = composer_form(request, request.GET)
    template = (
        "front/_video_options.html" if isinstance(form, VideoForm) else "front/_image_options.html"
    )
    return render(request, template, composer_context(form))


@require_POST
@workspace_required(role=Role.MEMBER)
def generate(request):
    """Make an image (or, with reference images, an edit of them) or a video."""
    try:
        references = read_references(request, request.POST, strict=True)
        references += store_uploads(request, request.FILES.getlist("reference_file"))
        form = composer_form(request, request.POST, strict=True, references=references)
        if form.error:
            raise form.error
        board = picked_board(request, request.POST, strict=True)
        job = runner.submit(
            workspace=request.workspace,
            user=request.user,
            request=form.request(),
            prompt=request.POST.get("prompt", ""),
            board_id=board.pk if board else None,
            **form.job_fields(),
        )
    except StudioError as e:
        return refuse(request, e, "#generate-feedback", "studio")
    remember_board(request, board)
    if request.htmx:
        return render_card(request, _get_job_for_user(request, job.public_id))
    return redirect("studio")


# ---- job cards -----------------------------------------------------------------------------


@require_GET
@workspace_required
def poll_jobs(request):
    """The cards of the page's jobs still in flight, asked for together: one request per page
    every few seconds (static/js/studio.js), however many cards are running. A card missing
    from the answer is no longer there to follow."""
    ids = request.GET.getlist("id")[:POLL_MAX]
    jobs = list(jobs_for_cards(request.membership).filter(public_id__in=ids))
    for job in jobs:
        runner.nudge(job)
    ended = any(job.is_final for job in jobs)
    response = render(request, "front/_job_cards.html", {"jobs": jobs, "oob_balance": ended})
    return trigger_client_event(response, REFRESH) if ended else response


@require_POST
@workspace_required(role=Role.MEMBER)
def cancel_job(request, public_id: str):
    job = _get_job_for_user(request, public_id)
    if not _may_change(request, job):
        raise PermissionDenied("Only its owner or an admin can cancel this job.")
    if not runner.cancel(job):
        messages.warning(
            request, "It had already ended, or its provider can't stop it once started."
        )
    job = _get_job_for_user(request, public_id)
    if request.htmx:
        return render_card(request, job)
    return redirect("studio")


def _new_card(request, new: Job):
    """Answer a job made from another one's card: the new card, first in the page's list."""
    if request.htmx:
        response = render_card(request, _get_job_for_user(request, new.public_id))
        return reswap(retarget(response, "#jobs"), "afterbegin")
    messages.success(request, "Started. It's first in the list.")
    return redirect("studio")


@require_POST
@workspace_required(role=Role.MEMBER)
def retry_job(request, public_id: str):
    """Run a job again with the same parameters ("Re-run", or "Retry" after a failure)."""
    job = _get_job_for_user(request, public_id)
    try:
        new = runner.retry(job, request.user)
    except StudioError as e:
        return refuse(request, e, NEXT_FEEDBACK, "studio")
    return _new_card(request, new)


@require_POST
@workspace_required(role=Role.MEMBER)
def vary_job(request, public_id: str):
    """The same job with the prompt the person changed a little (or left as it was)."""
    job = _get_job_for_user(request, public_id)
    try:
        new = runner.submit(
            workspace=job.workspace,
            user=request.user,
            kind=job.kind,
            request=job.params,
            prompt=request.POST.get("prompt", ""),
            source_asset=job.source_asset,
            inputs=job.inputs,
            board_id=job.board_id,
        )
    except StudioError as e:
        return refuse(request, e, NEXT_FEEDBACK, "studio")
    return _new_card(request, new)


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


def favicon(request):
    """Browsers and tools ask for /favicon.ico whatever the page's <link rel=icon> says."""
    return redirect(static("img/logo.svg"), permanent=True)
