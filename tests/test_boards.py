"""Boards: made, renamed and deleted by members; filled from the grid, the asset page and in
bulk; and filled by themselves with what a job makes when it was picked at submit time."""

from __future__ import annotations

import html
import re

import pytest

from studio.credits import ledger
from studio.gallery.models import Board, BoardAsset
from studio.generations import media, runner
from studio.generations.models import Asset, Job
from tests.factories import make_asset
from tests.test_api import png


def uids(response) -> list[str]:
    return re.findall(r'id="tile-([^"]+)"', response.content.decode())


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def funded(alpha):
    ledger.grant(alpha, 100)
    return alpha


@pytest.fixture
def launch(alpha, alice):
    return Board.objects.create(workspace=alpha, name="Launch", created_by=alice)


@pytest.fixture
def image(funded, alice):
    stored = media.store_image(png(320, 240), workspace_id=funded.id)
    return media.make_asset(stored, workspace=funded, user=alice, made_by="upload")


def test_a_member_makes_a_board_and_lands_on_its_page(client, bob, alpha):
    client.force_login(bob)
    r = client.post("/boards/", {"name": "  Spring   campaign "})
    board = Board.objects.get()
    assert (board.name, board.workspace, board.created_by) == ("Spring campaign", alpha, bob)
    assert r.status_code == 302 and r["Location"] == f"/boards/{board.pk}/"
    page = client.get(r["Location"])
    assert page.status_code == 200 and "<h1>Spring campaign</h1>" in text(page)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the board a name."),
        ("x" * 81, "at most 80 characters"),
        ("LAUNCH", "There is already a board called “LAUNCH”"),
    ],
)
def test_a_bad_board_name_is_a_message(client, bob, launch, name, message):
    client.force_login(bob)
    r = client.post("/boards/", {"name": name}, follow=True)
    assert message in text(r)
    assert Board.objects.count() == 1


def test_renaming_and_deleting_a_board_keeps_its_assets(client, alice, bob, alpha, launch):
    kept = make_asset(alpha, alice)
    BoardAsset.objects.create(board=launch, asset=kept)
    client.force_login(bob)  # any member may change the workspace's boards
    client.post(f"/boards/{launch.pk}/rename/", {"name": "Launch v2"})
    launch.refresh_from_db()
    assert launch.name == "Launch v2"
    other = Board.objects.create(workspace=alpha, name="Other")
    r = client.post(f"/boards/{other.pk}/rename/", {"name": "launch V2"}, follow=True)
    assert "There is already a board called" in text(r)
    r = client.post(f"/boards/{launch.pk}/delete/")
    assert r.status_code == 302 and not Board.objects.filter(pk=launch.pk).exists()
    assert Asset.objects.for_workspace(alpha).filter(pk=kept.pk).exists()
    assert client.get(f"/boards/{launch.pk}/").status_code == 404


def test_a_viewer_browses_boards_but_changes_none(client, vic, alice, alpha, launch):
    asset = make_asset(alpha, alice)
    BoardAsset.objects.create(board=launch, asset=asset)
    client.force_login(vic)
    assert uids(client.get(f"/boards/{launch.pk}/")) == [asset.uid]
    assert client.get("/boards/").status_code == 200
    for path, data in [
        ("/boards/", {"name": "Mine"}),
        (f"/boards/{launch.pk}/rename/", {"name": "x"}),
        (f"/boards/{launch.pk}/delete/", {}),
        (f"/boards/{launch.pk}/remove/", {"uid": asset.uid}),
        (f"/boards/{launch.pk}/share/", {"expires": "day"}),
        (f"/assets/{asset.uid}/boards/", {"board": launch.pk}),
        ("/gallery/bulk/", {"action": "board", "board": launch.pk, "uid": asset.uid}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert Board.objects.get().name == "Launch" and BoardAsset.objects.count() == 1
    page = text(client.get(f"/boards/{launch.pk}/"))
    assert "Rename" not in page and "Delete board" not in page and "Add to board" not in page


def test_bulk_add_and_take_out(client, bob, alice, alpha, launch):
    a, b, c = (make_asset(alpha, alice, prompt=p) for p in ("a", "b", "c"))
    client.force_login(bob)
    r = client.post(
        "/gallery/bulk/",
        {"action": "board", "board": launch.pk, "uid": [a.uid, b.uid], "next": "/gallery/?q=x"},
    )
    assert r.status_code == 302 and r["Location"] == "/gallery/?q=x"
    assert set(uids(client.get(f"/boards/{launch.pk}/"))) == {a.uid, b.uid}
    client.post("/gallery/bulk/", {"action": "board", "board": launch.pk, "uid": [a.uid, c.uid]})
    assert BoardAsset.objects.filter(board=launch).count() == 3  # a once
    client.post(f"/boards/{launch.pk}/remove/", {"uid": [a.uid, b.uid]})
    assert uids(client.get(f"/boards/{launch.pk}/")) == [c.uid]
    assert Asset.objects.for_workspace(alpha).count() == 3  # taken out, not deleted
    r = client.post("/gallery/bulk/", {"action": "board", "uid": a.uid}, follow=True)
    assert "Pick the board to add them to." in text(r)


def test_the_asset_page_shows_its_boards_and_changes_them(client, bob, alpha, alice, launch):
    asset = make_asset(alpha, alice)
    other = Board.objects.create(workspace=alpha, name="Moodboard")
    client.force_login(bob)
    client.post(f"/assets/{asset.uid}/boards/", {"board": other.pk})
    page = text(client.get(f"/assets/{asset.uid}/"))
    boards_card = page.split('id="boards"')[1].split("</section>")[0]
    assert f'href="/boards/{other.pk}/">Moodboard</a>' in boards_card
    assert f'<option value="{launch.pk}">Launch</option>' in boards_card  # to add it to
    client.post(f"/assets/{asset.uid}/boards/", {"board": other.pk, "remove": "1"})
    assert not BoardAsset.objects.exists()


def test_the_boards_page_counts_what_each_person_may_see(client, alice, bob, alpha, launch):
    from django.utils import timezone

    BoardAsset.objects.bulk_create(
        BoardAsset(board=launch, asset=a)
        for a in [
            make_asset(alpha, alice),
            make_asset(alpha, alice, private=True),
            make_asset(alpha, bob, private=True),
            make_asset(alpha, bob, deleted_at=timezone.now()),
        ]
    )
    client.force_login(bob)
    assert "2 items" in text(client.get("/boards/"))  # alice's private one isn't his
    client.force_login(alice)
    assert "3 items" in text(client.get("/boards/"))  # an owner sees every private one


@pytest.mark.servers
def test_a_job_files_its_outputs_into_the_board_picked_at_submit(client, bob, funded, launch):
    client.force_login(bob)
    r = client.post(
        "/generate/",
        {"prompt": "a kite", "model": "nano-banana", "size": "1:1", "board": launch.pk},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    job = Job.objects.get()
    assert job.board == launch
    assert f'href="/boards/{launch.pk}/"' in r.content.decode()  # the card says where it goes
    runner.run_job(job.pk)
    made = Asset.objects.get(job=job)
    assert list(launch.items.values_list("asset", flat=True)) == [made.pk]
    # The composer remembers the board for the next job.
    assert f'<option value="{launch.pk}" selected>' in text(client.get("/"))
    # Re-run and vary file into the same board.
    again = runner.retry(job, bob)
    assert again.board == launch


def test_a_board_deleted_before_the_job_ends_costs_the_job_nothing(bob, funded, launch):
    job = runner.submit(
        workspace=funded,
        user=bob,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="x",
        board_id=launch.pk,
    )
    launch.delete()
    runner.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "completed" and job.board_id is None
    assert Asset.objects.filter(job=job).count() == 1 and not BoardAsset.objects.exists()


@pytest.mark.servers
def test_completing_into_a_board_gone_meanwhile_still_completes(bob, funded, launch):
    """Job.complete itself, with a job row read before the board was deleted."""
    from django.utils import timezone

    job = runner.submit(
        workspace=funded,
        user=bob,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="x",
        board_id=launch.pk,
        enqueue_job=False,
    )
    Job.objects.filter(pk=job.pk).update(status="processing")
    job.refresh_from_db()
    Board.objects.filter(pk=launch.pk).delete()
    stored = media.store_image(png(), workspace_id=funded.id)
    assert job.complete([stored], 1, timezone.now())
    assert Job.objects.get(pk=job.pk).status == "completed" and not BoardAsset.objects.exists()


def test_a_gone_board_is_refused_at_submit(client, bob, funded):
    client.force_login(bob)
    r = client.post(
        "/generate/",
        {"prompt": "a kite", "model": "nano-banana", "board": "424242"},
        HTTP_HX_REQUEST="true",
    )
    assert r["HX-Retarget"] == "#generate-feedback"
    assert "That board is gone" in text(r)
    assert not Job.objects.exists()


def test_edits_tools_and_videos_from_an_asset_go_to_the_board_picked_then(
    client, alice, image, launch
):
    client.force_login(alice)
    assert 'id="board-pick"' in text(client.get(f"/assets/{image.uid}/edit/"))
    assert 'id="board-pick"' in text(client.get(f"/assets/{image.uid}/animate/"))
    client.post(
        f"/assets/{image.uid}/edit/ai/",
        {"prompt": "warmer", "model": "nano-banana", "board": launch.pk},
        HTTP_HX_REQUEST="true",
    )
    client.post(
        f"/assets/{image.uid}/animate/go/",
        {"prompt": "slow push-in", "model": "veo", "duration": "4", "board": launch.pk},
        HTTP_HX_REQUEST="true",
    )
    assert [j.board for j in Job.objects.order_by("id")] == [launch, launch]
    # A free tool files its new image at once.
    client.post(
        f"/assets/{image.uid}/edit/tool/", {"tool": "rotate", "angle": "90", "board": launch.pk}
    )
    rotated = Asset.objects.get(made_by="rotate")
    assert BoardAsset.objects.filter(board=launch, asset=rotated).exists()


def test_an_upload_on_a_board_page_goes_into_the_board(client, bob, funded, launch):
    client.force_login(bob)
    client.post("/gallery/upload/", {"image": png(), "board": launch.pk})
    assert BoardAsset.objects.filter(board=launch).count() == 1
