"""Who sees and changes what in the gallery. Another workspace gets 404 for every asset,
board, thumbnail, media, ZIP and share URL; a private asset is seen only by its maker and the
workspace's admins and owners, in every list, filter, board, ZIP, count, share and media URL."""

from __future__ import annotations

import html
import io
import re
import zipfile

import pytest
from django.utils import timezone

from studio.credits import ledger
from studio.gallery import lifecycle
from studio.gallery.models import Board, BoardAsset, Favourite, Share
from studio.generations import media, runner
from studio.generations.models import Job
from tests.test_api import png


def text(response) -> str:
    return html.unescape(response.content.decode())


def uids(response) -> list[str]:
    return re.findall(r'id="tile-([^"]+)"', text(response))


@pytest.fixture
def image(alpha, alice):
    stored = media.store_image(png(320, 240), workspace_id=alpha.id)
    return media.make_asset(stored, workspace=alpha, user=alice, made_by="upload", prompt="dawn")


@pytest.fixture
def board(alpha, image):
    board = Board.objects.create(workspace=alpha, name="Launch")
    BoardAsset.objects.create(board=board, asset=image)
    return board


def test_another_workspace_gets_404_for_everything_of_ours(client, charlie, image, board):
    share = Share.start(user=None, now=timezone.now(), expiry="never", board=board)
    client.force_login(charlie)
    gets = [
        f"/assets/{image.uid}/",
        f"/assets/{image.uid}/edit/",
        f"/assets/{image.uid}/animate/",
        f"/boards/{board.pk}/",
    ]
    for path in gets:
        assert client.get(path).status_code == 404, path
    posts = {
        f"/assets/{image.uid}/favourite/": {},
        f"/assets/{image.uid}/delete/": {},
        f"/assets/{image.uid}/restore/": {},
        f"/assets/{image.uid}/private/": {"private": "1"},
        f"/assets/{image.uid}/boards/": {"board": board.pk},
        f"/assets/{image.uid}/share/": {"expires": "day"},
        f"/boards/{board.pk}/rename/": {"name": "mine now"},
        f"/boards/{board.pk}/delete/": {},
        f"/boards/{board.pk}/remove/": {"uid": image.uid},
        f"/boards/{board.pk}/share/": {"stop": "1"},
        "/gallery/bulk/": {"action": "zip", "uid": image.uid},
    }
    for path, data in posts.items():
        assert client.post(path, data).status_code == 404, path
    # Their own board can't be filled with our asset, nor ours with theirs.
    theirs = Board.objects.create(workspace=charlie.memberships.get().workspace, name="T")
    assert (
        client.post(
            "/gallery/bulk/", {"action": "board", "board": theirs.pk, "uid": image.uid}
        ).status_code
        == 404
    )
    assert not BoardAsset.objects.filter(board=theirs).exists()
    assert image.uid not in text(client.get("/gallery/"))
    assert image.uid not in text(client.get(f"/gallery/?board={board.pk}"))
    assert "Launch" not in text(client.get("/boards/"))
    assert image.uid not in text(client.get("/gallery/trash/"))
    assert Board.objects.get(pk=board.pk).name == "Launch" and not Favourite.objects.exists()
    assert Share.objects.get(pk=share.pk).revoked_at is None
    # The share link itself is for anyone with it, and shows only what it shares.
    assert client.get(f"/s/{share.token}/").status_code == 200


def test_another_workspace_gets_404_for_our_media_even_with_a_signed_url(
    client, charlie, alice, image, make_user
):
    urls = [media.signed_path(image), media.signed_path(image, "thumb")]
    client.force_login(alice)
    assert all(client.get(u).status_code == 200 for u in urls)
    client.force_login(charlie)  # a URL copied out of our pages
    assert all(client.get(u).status_code == 404 for u in urls)
    client.force_login(make_user("root", is_staff=True))  # the admin's previews
    assert all(client.get(u).status_code == 200 for u in urls)
    client.logout()  # without a session the signed URL is the permission (API clients)
    assert all(client.get(u).status_code == 200 for u in urls)
    for hide in (
        lambda: lifecycle.set_private(image, True, timezone.now()),
        lambda: lifecycle.trash([image.pk], timezone.now()),
    ):
        hide()
        assert all(client.get(u).status_code == 404 for u in urls)


@pytest.fixture
def private(alpha, alice, board):
    """Alice's private image, in the board, starred by her, with a job card in the studio."""
    ledger.grant(alpha, 100)
    job = runner.submit(
        workspace=alpha,
        user=alice,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="a secret plan",
        enqueue_job=False,
        board_id=board.pk,
    )
    runner.run_job(job.pk)
    asset = job.assets.get()
    lifecycle.set_private(asset, True, timezone.now())
    return asset


def test_a_private_asset_is_invisible_to_members_who_did_not_make_it(
    client, alice, bob, private, image, board
):
    client.force_login(bob)
    for query in [
        "",
        "?q=secret",
        "?model=gemini-2.5-flash-image",
        "?member=alice",
        f"?board={board.pk}",
        "?tab=team",
        "?kind=image",
    ]:
        assert private.uid not in uids(client.get(f"/gallery/{query}")), query
    assert private.uid not in uids(client.get(f"/boards/{board.pk}/"))
    assert "1 item" in text(client.get("/boards/"))  # counts leave it out
    assert client.get(f"/assets/{private.uid}/").status_code == 404
    assert client.get(f"/assets/{private.uid}/edit/").status_code == 404
    assert client.post(f"/assets/{private.uid}/favourite/").status_code == 404
    assert client.get(media.signed_path(private)).status_code == 404
    assert client.get(media.signed_path(private, "thumb")).status_code == 404
    # Nor in the studio's job cards, the reference picker, or an asset page's history.
    assert private.uid not in text(client.get("/"))
    assert private.uid not in text(client.get("/references/pick/"))
    assert private.uid not in text(client.get(f"/assets/{image.uid}/"))
    # Nor in a ZIP, even when asked for by uid.
    assert client.post("/gallery/bulk/", {"action": "zip", "uid": private.uid}).status_code == 404
    r = client.post("/gallery/bulk/", {"action": "zip", "uid": [private.uid, image.uid]})
    names = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content))).namelist()
    assert len(names) == 1 and image.uid in names[0]
    # Referring to it in a new job is refused as if it didn't exist.
    ledger.grant(private.workspace, 10)
    r = client.post(
        "/generate/",
        {"prompt": "x", "model": "nano-banana", "reference": private.uid},
        HTTP_HX_REQUEST="true",
    )
    assert "no longer in the gallery" in text(r) and Job.objects.count() == 1


def test_its_maker_and_the_owner_see_a_private_asset(client, alice, bob, private, board, alpha):
    from studio.accounts.models import Membership

    client.force_login(alice)  # its maker, and the owner
    assert private.uid in uids(client.get("/gallery/?q=secret"))
    assert private.uid in uids(client.get(f"/boards/{board.pk}/"))
    page = client.get(f"/assets/{private.uid}/")
    assert page.status_code == 200 and "Private" in text(page)
    assert client.get(media.signed_path(private)).status_code == 200
    # An admin who didn't make it sees it too.
    Membership.objects.filter(user=bob, workspace=alpha).update(role="admin")
    client.force_login(bob)
    assert private.uid in uids(client.get("/gallery/"))
    assert client.get(media.signed_path(private, "thumb")).status_code == 200


def test_only_its_maker_or_an_admin_makes_it_private_or_trashes_it(client, bob, vic, image):
    for user, status in ((bob, 403), (vic, 403)):
        client.force_login(user)
        assert client.post(f"/assets/{image.uid}/private/", {"private": "1"}).status_code == status
        assert client.post(f"/assets/{image.uid}/delete/").status_code == status
    image.refresh_from_db()
    assert not image.private and image.deleted_at is None
    page = text(client.get(f"/assets/{image.uid}/"))
    assert "Make it private" not in page and "Move to trash" not in page


def test_a_viewer_browses_stars_and_downloads(client, vic, image):
    client.force_login(vic)
    assert image.uid in uids(client.get("/gallery/"))
    assert client.post(f"/assets/{image.uid}/favourite/").status_code == 302
    r = client.post("/gallery/bulk/", {"action": "zip", "uid": image.uid})
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    assert client.post("/gallery/bulk/", {"action": "trash", "uid": image.uid}).status_code == 403


def test_the_provider_fetches_a_private_input_through_its_own_url(client, image, settings):
    settings.STUDIO_PUBLIC_URL = "https://studio.example"
    lifecycle.set_private(image, True, timezone.now())
    url = media.public_url(image).removeprefix("https://studio.example")
    assert client.get(url).status_code == 200  # no session: the URL was signed for this
    assert client.get(url.replace("to=provider", "to=")).status_code == 404
    assert client.get(media.signed_path(image)).status_code == 404
    lifecycle.trash([image.pk], timezone.now())
    assert client.get(url).status_code == 404


def test_bulk_refuses_nonsense_with_a_message(client, alice, image):
    client.force_login(alice)
    for data, message in [
        ({"action": "explode", "uid": image.uid}, "Pick what to do with them"),
        ({"action": "zip"}, "Select at least one"),
        ({"action": "zip", "uid": [f"u{i}" for i in range(901)]}, "at most 900"),
    ]:
        r = client.post("/gallery/bulk/", data, follow=True)
        assert r.status_code == 200 and message in text(r)
    assert client.post("/gallery/bulk/", {"action": "zip", "uid": "nope"}).status_code == 404
    assert client.get("/gallery/bulk/").status_code == 405
