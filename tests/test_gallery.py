"""The gallery: filters that live in the URL, keyset pages for endless scroll, favourites."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from studio.gallery.models import Board, BoardAsset, Favourite
from tests.factories import make_asset


def uids(response) -> list[str]:
    """The assets a grid shows, in order."""
    return re.findall(r'id="tile-([^"]+)"', response.content.decode())


def day(text: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(text))


@pytest.fixture
def team(alpha, alice, bob):
    """Alice's and Bob's work over three days, one of it a video, one in a board."""
    made = {
        "bike": make_asset(
            alpha, alice, prompt="a red bicycle at dawn", created_at=day("2026-11-19 09:00")
        ),
        "kite": make_asset(
            alpha,
            bob,
            prompt="a blue kite over the sea",
            model="gemini-2.5-flash-image",
            created_at=day("2026-11-20 12:00"),
        ),
        "waves": make_asset(
            alpha,
            bob,
            prompt="waves rolling, red sky",
            kind="video",
            content_type="video/mp4",
            model="veo",
            duration=5.0,
            created_at=day("2026-11-21 18:00"),
        ),
    }
    board = Board.objects.create(workspace=alpha, name="Launch")
    BoardAsset.objects.create(board=board, asset=made["kite"])
    Favourite.objects.create(user=alice, asset=made["waves"])
    return {**made, "board": board}


@pytest.mark.servers
def test_each_filter_lives_in_the_url(client, alice, team):
    client.force_login(alice)
    bike, kite, waves = team["bike"].uid, team["kite"].uid, team["waves"].uid
    cases = {
        "": [waves, kite, bike],
        "q=red": [waves, bike],
        "q=red+dawn": [bike],  # every word, anywhere in the prompt
        "kind=video": [waves],
        "kind=image": [kite, bike],
        "model=veo": [waves],
        "model=gemini-2.5-flash-image": [kite],
        "model=nano-banana": [kite],  # an alias means its model
        "member=bob": [waves, kite],
        f"board={team['board'].pk}": [kite],
        "fav=1": [waves],
        "from=2026-11-20": [waves, kite],
        "to=2026-11-20": [kite, bike],  # inclusive
        "from=2026-11-20&to=2026-11-20": [kite],
        "sort=old": [bike, kite, waves],
        "tab=mine": [bike],
        "tab=team": [waves, kite, bike],
        "q=red&member=bob&kind=video&fav=1": [waves],  # combined
    }
    for query, expected in cases.items():
        assert uids(client.get(f"/gallery/?{query}")) == expected, query


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("kind=gif", "kind is image or video"),
        ("model=dall-e-9", "there is no such model"),
        ("member=mallory", "nobody of that name is in this workspace"),
        ("board=999999", "there is no such board here"),
        ("board=abc", "there is no such board here"),
        ("fav=yes", "use fav=1 for your favourites"),
        ("from=21-11-2026", "write dates as YYYY-MM-DD"),
        ("to=2026-02-30", "write dates as YYYY-MM-DD"),
        ("from=2026-11-21&to=2026-11-01", "to=2026-11-01 is before from"),
        ("sort=random", "the order is new or old"),
        ("tab=everyone", "the tab is team or mine"),
        ("after=banana", "it starts from the top"),
        ("after=99999999999999999999-1", "it starts from the top"),
    ],
)
def test_a_bad_value_is_ignored_with_a_note(client, alice, team, query, note):
    client.force_login(alice)
    r = client.get(f"/gallery/?{query}")
    assert r.status_code == 200
    text = re.sub(r"<[^>]+>", "", html.unescape(r.content.decode()))
    assert "Some of the link's filters were ignored" in text
    assert note in text
    assert len(uids(r)) >= 1  # the rest of the view still shows


def test_nothing_from_the_url_makes_a_500(client, alice, team):
    client.force_login(alice)
    junk = ["\x00", "%", "' OR 1=1 --", "9" * 400, "-1", "2026-13-01", "1-", "<script>"]
    for name in (
        "q",
        "kind",
        "model",
        "member",
        "board",
        "fav",
        "from",
        "to",
        "sort",
        "tab",
        "after",
    ):
        for value in junk:
            r = client.get("/gallery/", {name: value})
            assert r.status_code == 200, (name, value)
            assert b"<script>" not in r.content


@pytest.mark.servers
def test_pages_follow_each_other_by_keyset_without_offset(
    client, alice, alpha, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = timezone.now()
    # Fifty assets, ten of them made in the same microsecond: ties are broken by id.
    made = [
        make_asset(alpha, alice, prompt=f"n{i}", created_at=start - timedelta(seconds=i // 5 * 5))
        for i in range(50)
    ]
    client.force_login(alice)
    seen, url = [], "/gallery/?kind=image"
    with CaptureQueriesContext(connection) as queries:
        while url:
            r = client.get(url, HTTP_HX_REQUEST="true") if seen else client.get(url)
            page = uids(r)
            seen += page
            more = re.search(r'class="btn more-link" href="([^"]+)"', r.content.decode())
            url = html.unescape(more[1]) if more else None
            if url:
                assert "kind=image" in url  # the next page keeps the filters
    assert seen == [a.uid for a in sorted(made, key=lambda a: (a.created_at, a.pk), reverse=True)]
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def test_the_next_page_is_only_tiles_for_htmx_and_a_whole_page_without(client, alice, alpha):
    for i in range(30):
        make_asset(alpha, alice, prompt=f"n{i}")
    client.force_login(alice)
    first = client.get("/gallery/").content.decode()
    link = html.unescape(re.search(r'class="btn more-link" href="([^"]+)"', first)[1])
    assert 'hx-trigger="intersect once"' in first  # endless scroll
    fragment = client.get(link, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and len(re.findall('id="tile-', fragment)) == 6
    whole = client.get(link).content.decode()  # the same link, followed without JavaScript
    assert "<html" in whole and "Back to the start" in whole
    assert len(re.findall('id="tile-', whole)) == 6


def test_a_filter_change_by_htmx_answers_the_grid(client, alice, team):
    client.force_login(alice)
    r = client.get("/gallery/?kind=video", HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert body.lstrip().startswith('<div id="gallery-grid">')
    assert uids(r) == [team["waves"].uid]


def test_a_star_is_each_persons_own(client, alice, bob, vic, team):
    kite = team["kite"]
    for user in (bob, vic):  # viewers may star too
        client.force_login(user)
        r = client.post(f"/assets/{kite.uid}/favourite/", HTTP_HX_REQUEST="true")
        assert r.status_code == 200 and b'aria-pressed="true"' in r.content
        assert uids(client.get("/gallery/?fav=1")) == [kite.uid]
    assert Favourite.objects.filter(asset=kite).count() == 2
    client.force_login(alice)
    assert uids(client.get("/gallery/?fav=1")) == [team["waves"].uid]
    client.force_login(bob)
    r = client.post(f"/assets/{kite.uid}/favourite/", {"next": "/gallery/?fav=1"})
    assert r.status_code == 302 and r["Location"] == "/gallery/?fav=1"
    assert uids(client.get("/gallery/?fav=1")) == []
    assert not Favourite.objects.filter(asset=kite, user=bob).exists()


def test_a_star_shows_on_the_asset_page(client, alice, team):
    client.force_login(alice)
    page = client.get(f"/assets/{team['waves'].uid}/").content.decode()
    assert 'class="star is-on btn"' in page
    r = client.post(f"/assets/{team['waves'].uid}/favourite/", {"next": "https://evil.example/"})
    assert r["Location"] == f"/assets/{team['waves'].uid}/"  # never sent off the site
