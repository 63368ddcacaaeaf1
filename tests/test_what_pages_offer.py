"""Pages offer only what works for whoever reads them, and say it plainly."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from studio.accounts.models import Membership
from studio.credits import ledger
from studio.front.templatetags.studio import credit_amount
from studio.generations import media, runner, tools
from tests.test_api import png


@pytest.fixture
def vic(make_user, alpha):
    """A viewer in Alpha."""
    user = make_user("vic")
    Membership.objects.create(user=user, workspace=alpha, role="viewer")
    return user


@pytest.fixture
def made(alpha, alice):
    """A generated image, its AI edit and a free tool's copy of it, in Alpha."""
    ledger.grant(alpha, 100)
    job = runner.submit(
        workspace=alpha,
        user=alice,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="a kite",
    )
    runner.run_job(job.pk)
    image = job.assets.get()
    return image, tools.apply(image, "adjust", {"brightness": "20"}, alice)


def links_and_forms(html: str) -> tuple[set[str], set[str]]:
    hrefs = set(re.findall(r'href="(/[^"#?]*)', html))
    posts = set(re.findall(r'<form method="post" action="([^"]+)"', html))
    return hrefs, posts


def test_a_viewer_is_offered_nothing_that_answers_403(client, vic, made):
    image, _ = made
    client.force_login(vic)
    pages = ["/", "/gallery/", f"/assets/{image.uid}/", "/usage/", "/models/", "/docs/api/"]
    seen_links, seen_posts = set(), set()
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        hrefs, posts = links_and_forms(r.content.decode())
        seen_links |= hrefs
        seen_posts |= posts
    for href in seen_links - {"/accounts/logout/"}:
        if href.startswith(("/media/", "/static/", "/admin/", "/v1/")):
            continue
        assert client.get(href).status_code != 403, href
    # Only signing out and switching workspace: no tools, no Re-run, no Vary, no Cancel.
    assert all(p.startswith(("/accounts/logout/", "/workspaces/")) for p in seen_posts), seen_posts
    assert "/keys/" not in seen_links
    html = client.get(f"/assets/{image.uid}/edit/").content.decode()
    assert "Viewers can look but not edit" in html and "Animate this" not in html
    assert 'name="tool"' not in html


def test_a_member_is_offered_the_tools_and_keys(client, bob, made):
    image, _ = made
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert 'href="/keys/"' in html and "Re-run · 2 credits" in html and "Use prompt" in html
    assert 'name="tool"' in client.get(f"/assets/{image.uid}/edit/").content.decode()


def test_a_free_tool_is_not_credited_to_a_model(client, alice, made):
    image, adjusted = made
    client.force_login(alice)
    html = client.get(f"/assets/{adjusted.uid}/").content.decode()
    assert "adjust <span" in html and "(a free tool)" in html
    assert "gemini-2.5-flash-image</code>" not in html
    html = client.get(f"/assets/{image.uid}/").content.decode()
    assert "<code>gemini-2.5-flash-image</code>" in html


def test_one_credit_is_one_credit():
    assert credit_amount(1) == "1 credit"
    assert credit_amount("1.00") == "1 credit"
    assert credit_amount(2) == "2 credits"
    assert credit_amount("11.2") == "11.20 credits"
    assert credit_amount("0.50") == "0.50 credits"


def test_the_favicon_is_found_where_browsers_look(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 301
    assert finders.find(r["Location"].removeprefix("/static/"))


def test_an_edit_is_compared_with_its_original_when_they_share_a_shape(client, alice, alpha):
    ledger.grant(alpha, 10)
    stored = media.store_image(png(320, 240), workspace_id=alpha.id)
    original = media.make_asset(stored, workspace=alpha, user=alice, made_by="upload")
    adjusted = tools.apply(original, "adjust", {"contrast": "30"}, alice)
    cropped = tools.apply(original, "crop", {"aspect": "1:1"}, alice)
    client.force_login(alice)
    html = client.get(f"/assets/{adjusted.uid}/").content.decode()
    assert 'id="compare"' in html and media.signed_path(original) in html.replace("&amp;", "&")
    assert 'id="compare"' not in client.get(f"/assets/{cropped.uid}/").content.decode()
    assert 'id="compare"' not in client.get(f"/assets/{original.uid}/").content.decode()


def test_the_admin_links_its_credit_pages(client, make_user):
    staff = make_user("staff", is_staff=True, is_superuser=True)
    client.force_login(staff)
    for page in ("/admin/", "/admin/credits/pack/"):
        html = client.get(page).content.decode()
        assert 'href="/admin/credits/pack/grant/"' in html, page
        assert 'href="/admin/credits/pack/codes/"' in html, page
    assert client.get("/admin/credits/pack/grant/").status_code == 200
    assert client.get("/admin/credits/pack/codes/").status_code == 200
