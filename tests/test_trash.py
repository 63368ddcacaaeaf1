"""The trash: deleting moves an asset there; its maker or an admin restores it within 30
days; the daily purge then deletes its files and row, and the usage report keeps the job and
its credits."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from studio.credits import ledger
from studio.gallery import lifecycle
from studio.gallery.models import Board, BoardAsset, Favourite, Share
from studio.generations import media, runner
from studio.generations.models import Asset, Job
from tests.factories import make_asset


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def made(alpha, alice):
    """An image alice generated: a real job, real credits, real files."""
    ledger.grant(alpha, 100)
    job = runner.submit(
        workspace=alpha,
        user=alice,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="a red bicycle",
        enqueue_job=False,
    )
    runner.run_job(job.pk)
    return Asset.objects.get(job=job)


def test_delete_moves_to_the_trash_and_restore_brings_it_back(client, alice, made):
    board = Board.objects.create(workspace=made.workspace, name="B")
    BoardAsset.objects.create(board=board, asset=made)
    client.force_login(alice)
    r = client.post(f"/assets/{made.uid}/delete/", follow=True)
    assert "Moved to the trash" in text(r)
    made.refresh_from_db()
    assert made.deleted_at is not None
    assert made.uid not in text(client.get("/gallery/"))
    assert made.uid not in text(client.get(f"/boards/{board.pk}/"))
    assert client.get(f"/assets/{made.uid}/").status_code == 404
    trash = text(client.get("/gallery/trash/"))
    assert f'id="tile-{made.uid}"' in trash and "restorable until" in trash
    assert "Trash · 1" in text(client.get("/gallery/"))
    r = client.post(f"/assets/{made.uid}/restore/")
    assert r.status_code == 302 and r["Location"] == f"/assets/{made.uid}/"
    assert made.uid in text(client.get(f"/boards/{board.pk}/"))  # back where it was


def test_bulk_trash_takes_only_what_is_yours_to_trash(client, alice, bob, alpha):
    hers, his = make_asset(alpha, alice), make_asset(alpha, bob)
    client.force_login(bob)
    r = client.post("/gallery/bulk/", {"action": "trash", "uid": [hers.uid, his.uid]}, follow=True)
    page = text(r)
    assert "Moved 1 to the trash" in page and "Left 1 alone" in page
    assert Asset.objects.filter(deleted_at__isnull=False).get() == his
    client.force_login(alice)  # an owner may trash anyone's
    client.post("/gallery/bulk/", {"action": "trash", "uid": [hers.uid]})
    assert Asset.objects.filter(deleted_at__isnull=True).count() == 0


def test_the_trash_shows_your_own_and_an_admin_sees_all(client, alice, bob, vic, alpha):
    now = timezone.now()
    hers = make_asset(alpha, alice, deleted_at=now)
    his = make_asset(alpha, bob, deleted_at=now)
    client.force_login(bob)
    page = text(client.get("/gallery/trash/"))
    assert his.uid in page and hers.uid not in page
    assert client.post(f"/assets/{hers.uid}/restore/").status_code == 404
    client.force_login(vic)  # a viewer made nothing, so nothing is theirs here
    assert his.uid not in text(client.get("/gallery/trash/"))
    client.force_login(alice)
    page = text(client.get("/gallery/trash/"))
    assert his.uid in page and hers.uid in page and "you see everything" in page
    client.post(f"/assets/{his.uid}/restore/")
    assert Asset.objects.get(pk=his.pk).deleted_at is None


def test_after_30_days_it_can_not_be_restored(client, alice, alpha):
    old = make_asset(alpha, alice, deleted_at=timezone.now() - timedelta(days=30, minutes=1))
    client.force_login(alice)
    r = client.post(f"/assets/{old.uid}/restore/", follow=True)
    assert "too long to restore" in text(r)
    assert Asset.objects.get(pk=old.pk).deleted_at is not None


def test_the_purge_deletes_old_trash_and_its_files_and_keeps_the_usage(client, alice, made):
    files = [made.file.name, made.thumbnail.name]
    assert all(default_storage.exists(name) for name in files)
    recent = make_asset(made.workspace, alice, deleted_at=timezone.now() - timedelta(days=29))
    Favourite.objects.create(user=alice, asset=made)
    Share.objects.create(workspace=made.workspace, asset=made)
    lifecycle.trash([made.pk], timezone.now() - timedelta(days=31))
    job = made.job
    balance = ledger.balance(made.workspace)

    assert lifecycle.purge() == "purged 1 assets from the trash"

    assert not Asset.objects.filter(pk=made.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert Asset.objects.filter(pk=recent.pk).exists()  # still restorable
    assert not Favourite.objects.exists() and not Share.objects.exists()
    assert Job.objects.get(pk=job.pk).status == "completed"
    assert ledger.balance(made.workspace) == balance
    client.force_login(alice)
    rows = b"".join(client.get("/usage/export.csv").streaming_content).decode().splitlines()
    assert len(rows) == 2 and rows[1].startswith(job.public_id)  # the job and its charge
    assert lifecycle.purge() == "purged 0 assets from the trash"


def test_the_purge_runs_every_day(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="studio.gallery.lifecycle.purge")
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1


def test_purging_refuses_to_run_inside_a_transaction(alpha, alice):
    from django.db import transaction

    from studio.lib.transactions import TransactionOpen

    make_asset(alpha, alice, deleted_at=timezone.now() - timedelta(days=40))
    with pytest.raises(TransactionOpen), transaction.atomic():
        lifecycle.purge()


def test_a_trashed_assets_media_answer_404_but_its_maker_sees_its_thumbnail(
    client, alice, bob, made
):
    url, thumb = media.signed_path(made), media.signed_path(made, "thumb")
    client.force_login(bob)
    assert client.get(url).status_code == 200
    lifecycle.trash([made.pk], timezone.now())
    assert client.get(url).status_code == 404  # at once, for a URL handed out before
    assert client.get(thumb).status_code == 404
    client.logout()
    assert client.get(thumb).status_code == 404
    client.force_login(alice)  # its maker, in the trash page
    assert client.get(thumb).status_code == 200
