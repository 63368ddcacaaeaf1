"""Share links, one mechanism for an asset and a board: an unguessable token, an expiry
picked when made, read-only pages whose media are checked against the live share on every
request — so stopping, expiry, the trash or making the asset private end them at once."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from studio.gallery import lifecycle
from studio.gallery.models import Board, BoardAsset, Share
from studio.generations import media
from studio.generations.models import Asset
from tests.factories import make_asset
from tests.test_api import png


def text(response) -> str:
    return html.unescape(response.content.decode())


def media_urls(response) -> list[str]:
    """Every media URL a page hands out (src, poster, href, data-src)."""
    return sorted(set(re.findall(r'(?:src|poster|href)="(/(?:s|media)/[^"]+)"', text(response))))


@pytest.fixture
def image(alpha, alice):
    stored = media.store_image(png(320, 240), workspace_id=alpha.id)
    return media.make_asset(stored, workspace=alpha, user=alice, made_by="upload", prompt="dawn")


@pytest.fixture
def board(alpha, alice, image, bob):
    """A board with alice's image, alice's private image and bob's trashed one."""
    board = Board.objects.create(workspace=alpha, name="Launch")
    hidden = [
        media.make_asset(
            media.store_image(png(), workspace_id=alpha.id),
            workspace=alpha,
            user=alice,
            made_by="upload",
            private=True,
            prompt="secret",
        ),
        make_asset(alpha, bob, deleted_at=timezone.now(), prompt="binned"),
    ]
    for asset in (image, *hidden):
        BoardAsset.objects.create(board=board, asset=asset)
    board.hidden = hidden
    return board


def share_of(**target) -> Share:
    return Share.objects.live(timezone.now()).get(**target)


def test_an_asset_link_is_unguessable_read_only_and_stops_at_once(client, alice, image):
    client.force_login(alice)
    r = client.post(f"/assets/{image.uid}/share/", {"expires": "week"})
    share = share_of(asset=image)
    assert len(share.token) >= 32 and share.created_by == alice
    assert share.expires_at - timezone.now() == pytest.approx(
        timedelta(days=7), abs=timedelta(minutes=1)
    )
    link = f"/s/{share.token}/"
    assert link in text(client.get(r["Location"]))  # the asset page shows it to copy
    client.logout()
    page = client.get(link)
    assert page.status_code == 200
    assert "Move to trash" not in text(page) and "Edit" not in text(page)
    urls = media_urls(page)
    assert urls and all(u.startswith(link) for u in urls)  # never a signed /media/ URL
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get("/s/" + "x" * 32 + "/").status_code == 404
    assert client.get(f"/s/{share.token[:10]}/").status_code == 404

    client.force_login(alice)
    client.post(f"/assets/{image.uid}/share/", {"stop": "1"})
    client.logout()
    assert client.get(link).status_code == 404
    for url in urls:
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize(
    ("expires", "days"), [("day", 1), ("week", 7), ("month", 30), ("never", None)]
)
def test_a_link_is_made_with_its_expiry(client, alice, image, expires, days):
    client.force_login(alice)
    client.post(f"/assets/{image.uid}/share/", {"expires": expires})
    share = share_of(asset=image)
    if days is None:
        assert share.expires_at is None
    else:
        assert (share.expires_at - share.created_at).days == days


def test_a_bad_expiry_is_a_message(client, alice, image):
    client.force_login(alice)
    r = client.post(f"/assets/{image.uid}/share/", {"expires": "forever"}, follow=True)
    assert "Pick how long the link works" in text(r)
    assert not Share.objects.exists()


def test_an_expired_link_and_its_media_are_gone(client, alice, image):
    client.force_login(alice)
    client.post(f"/assets/{image.uid}/share/", {"expires": "day"})
    share = share_of(asset=image)
    client.logout()
    url = media_urls(client.get(f"/s/{share.token}/"))[0]
    Share.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/s/{share.token}/").status_code == 404
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("how", ["trash", "private"])
def test_trashing_or_making_private_ends_the_link_and_its_media(client, alice, image, how):
    client.force_login(alice)
    client.post(f"/assets/{image.uid}/share/", {"expires": "never"})
    share = share_of(asset=image)
    url = media_urls(client.get(f"/s/{share.token}/"))[0]
    if how == "trash":
        client.post(f"/assets/{image.uid}/delete/")
        client.post(f"/assets/{image.uid}/restore/")
    else:
        client.post(f"/assets/{image.uid}/private/", {"private": "1"})
        client.post(f"/assets/{image.uid}/private/", {"private": "0"})
    # Brought back, it is not shared again: the link was stopped, not paused.
    assert client.get(f"/s/{share.token}/").status_code == 404
    assert client.get(url).status_code == 404
    assert Share.objects.get(pk=share.pk).revoked_at is not None


def test_a_private_asset_can_not_be_shared(client, alice, image):
    lifecycle.set_private(image, True, timezone.now())
    client.force_login(alice)
    r = client.post(f"/assets/{image.uid}/share/", {"expires": "week"}, follow=True)
    assert "A private asset can't be shared" in text(r)
    assert not Share.objects.exists()


def test_only_its_maker_or_an_admin_shares_an_asset(client, alice, bob, vic, image, alpha):
    for user, status in ((bob, 403), (vic, 403)):
        client.force_login(user)
        assert client.post(f"/assets/{image.uid}/share/", {"expires": "day"}).status_code == status
    assert not Share.objects.exists()
    his = make_asset(alpha, bob)
    client.force_login(alice)  # the owner may share anyone's
    client.post(f"/assets/{his.uid}/share/", {"expires": "day"})
    assert share_of(asset=his)


def test_one_live_link_per_thing(client, alice, image):
    client.force_login(alice)
    client.post(f"/assets/{image.uid}/share/", {"expires": "day"})
    client.post(f"/assets/{image.uid}/share/", {"expires": "month"})
    assert Share.objects.count() == 1
    client.post(f"/assets/{image.uid}/share/", {"stop": "1"})
    client.post(f"/assets/{image.uid}/share/", {"expires": "month"})
    assert Share.objects.count() == 2 and Share.objects.live(timezone.now()).count() == 1


def test_a_board_link_shows_the_board_but_not_its_private_or_trashed_work(
    client, bob, board, image
):
    client.force_login(bob)  # any member may share a board
    r = client.post(f"/boards/{board.pk}/share/", {"expires": "week"})
    assert r["Location"] == f"/boards/{board.pk}/"
    share = share_of(board=board)
    assert f"/s/{share.token}/" in text(client.get(f"/boards/{board.pk}/"))
    client.logout()
    page = client.get(f"/s/{share.token}/")
    assert page.status_code == 200
    shown = re.findall(r'id="tile-([^"]+)"', text(page))
    assert shown == [image.uid]
    assert "secret" not in text(page) and "binned" not in text(page)
    urls = media_urls(page)
    assert urls and all(u.startswith(f"/s/{share.token}/") for u in urls)
    for url in urls:
        assert client.get(url).status_code == 200
    # The link serves only the board's shown assets, whatever uid is asked for.
    for hidden in board.hidden:
        assert client.get(f"/s/{share.token}/{hidden.uid}/file.png").status_code == 404
        assert client.get(f"/s/{share.token}/{hidden.uid}/thumb.jpg").status_code == 404
    # Taken out of the board, an asset's files stop being served through the link at once.
    BoardAsset.objects.filter(asset=image).delete()
    assert all(client.get(u).status_code == 404 for u in urls)
    BoardAsset.objects.create(board=board, asset=image)

    client.force_login(bob)
    client.post(f"/boards/{board.pk}/share/", {"stop": "1"})
    client.logout()
    assert client.get(f"/s/{share.token}/").status_code == 404
    assert all(client.get(u).status_code == 404 for u in urls)


def test_deleting_a_board_ends_its_link(client, alice, board):
    share = Share.start(user=alice, now=timezone.now(), expiry="never", board=board)
    client.force_login(alice)
    client.post(f"/boards/{board.pk}/delete/")
    client.logout()
    assert client.get(f"/s/{share.token}/").status_code == 404


def test_a_board_link_pages_by_keyset(client, alice, alpha):
    board = Board.objects.create(workspace=alpha, name="Big")
    made = [make_asset(alpha, alice, prompt=f"n{i}") for i in range(30)]
    BoardAsset.objects.bulk_create(BoardAsset(board=board, asset=a) for a in made)
    share = Share.start(user=alice, now=timezone.now(), expiry="never", board=board)
    first = text(client.get(f"/s/{share.token}/"))
    more = re.search(r'class="btn more-link" href="([^"]+)"', first)[1]
    rest = client.get(more, HTTP_HX_REQUEST="true").content.decode()
    shown = re.findall(r'id="tile-([^"]+)"', first) + re.findall(r'id="tile-([^"]+)"', rest)
    assert sorted(shown) == sorted(a.uid for a in made) and "<html" not in rest


@pytest.mark.servers
def test_old_asset_links_keep_working_after_the_migration(transactional_db):
    """Tokens kept on Asset.share_token before boards could be shared become Share rows."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.test import Client

    before = [("gallery", "0001_initial"), ("generations", "0003_error_params")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    workspace = old.get_model("accounts", "Workspace").objects.create(name="Old")
    user = old.get_model("auth", "User").objects.create(username="olga")
    fields = dict(
        workspace=workspace,
        user=user,
        kind="image",
        made_by="upload",
        width=1,
        height=1,
        content_type="image/png",
        file="assets/x.png",
    )
    OldAsset = old.get_model("generations", "Asset")
    OldAsset.objects.create(uid="shared1", share_token="t" * 32, **fields)
    OldAsset.objects.create(
        uid="binned1", share_token="u" * 32, deleted_at=timezone.now(), **fields
    )
    OldAsset.objects.create(uid="plain1", **fields)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    share = Share.objects.get()
    assert (share.token, share.asset.uid, share.expires_at) == ("t" * 32, "shared1", None)
    assert Client().get("/s/" + "t" * 32 + "/").status_code == 200
    assert Client().get("/s/" + "u" * 32 + "/").status_code == 404
    assert Asset.objects.count() == 3


def test_staff_see_every_link_in_the_admin_and_stop_them_but_never_read_a_token(
    client, alice, image, board
):
    from django.contrib.auth import get_user_model

    shares = [
        Share.start(user=alice, now=timezone.now(), expiry="never", asset=image),
        Share.start(user=alice, now=timezone.now(), expiry="week", board=board),
    ]
    client.force_login(get_user_model().objects.create_superuser("root", password="a-long-pass-1"))
    listing = text(client.get("/admin/gallery/share/"))
    assert "share of asset" in listing and "share of board" in listing
    assert shares[0].token not in listing
    assert shares[0].token not in text(client.get(f"/admin/gallery/share/{shares[0].pk}/change/"))
    assert client.get("/admin/gallery/board/").status_code == 200
    client.post(
        "/admin/gallery/share/",
        {"action": "stop", "_selected_action": [s.pk for s in shares]},
    )
    assert not Share.objects.live(timezone.now()).exists()
    assert client.get(shares[1].get_absolute_url()).status_code == 404


def test_deleting_a_video_through_the_api_stops_its_link(client, alice, alpha):
    """The API's DELETE /v1/videos/{id} moves the video to the trash: its link ends too."""
    from studio.accounts.models import ApiKey
    from tests.factories import make_job

    job = make_job(
        alpha,
        alice,
        {"model": "veo", "duration": 1},
        kind="animate",
        status="completed",
        source="api",
        endpoint="videos",
    )
    video = make_asset(alpha, alice, job=job, kind="video", content_type="video/mp4")
    share = Share.start(user=alice, now=timezone.now(), expiry="never", asset=video)
    _, key = ApiKey.create(user=alice, workspace=alpha, name="ci")
    r = client.delete(f"/v1/videos/{job.public_id}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 200, r.content
    assert client.get(share.get_absolute_url()).status_code == 404
    assert Share.objects.get(pk=share.pk).revoked_at is not None
