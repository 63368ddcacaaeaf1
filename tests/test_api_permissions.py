"""Roles hold through the API as on the pages (DESIGN invariant 4): an API key acts with its
owner's current role, checked on every request.

Before, roles stopped at the page: a viewer's key made image and video jobs on the team's
credits, a member demoted to viewer kept spending through a key made earlier, and member and
viewer keys cancelled the owner's queued jobs through POST /v1/tasks/{id}/cancel.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from PIL import Image

from studio.accounts import permissions
from studio.accounts.models import ApiKey, Membership
from studio.credits import ledger
from studio.generations.models import Job
from tests.factories import make_job
from tests.test_api import assert_error

D = Decimal


@pytest.fixture
def dave(make_user, alpha):
    """A viewer in Alpha."""
    user = make_user("dave")
    Membership.objects.create(user=user, workspace=alpha, role="viewer")
    return user


@pytest.fixture
def credits(alpha):
    ledger.grant(alpha, 100)


def key_of(user, workspace) -> dict:
    _, raw = ApiKey.create(user=user, workspace=workspace, name=f"{user}'s key")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, auth, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **auth)


def png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(out, "PNG")
    out.seek(0)
    out.name = "in.png"
    return out


CREATING = [
    ("/v1/images/generations", {"model": "nano-banana", "prompt": "x"}),
    ("/v1/async/images/generations", {"model": "nano-banana", "prompt": "x"}),
    ("/v1/async/videos/generations", {"model": "veo", "prompt": "x"}),
    ("/v1/videos", {"model": "veo", "prompt": "x"}),
]


@pytest.mark.parametrize(("path", "body"), CREATING)
def test_a_viewers_key_makes_no_job_and_spends_nothing(client, alpha, dave, credits, path, body):
    error = assert_error(post(client, key_of(dave, alpha), path, body), 403, "permission_denied")
    assert "needs the member role" in error["message"] and "is viewer" in error["message"]
    assert not Job.objects.exists()
    assert ledger.balance(alpha) == D("100.00")


@pytest.mark.parametrize("path", ["/v1/images/edits", "/v1/async/images/edits"])
def test_a_viewers_key_makes_no_edit(client, alpha, dave, credits, path):
    auth = key_of(dave, alpha)
    r = client.post(path, {"model": "nano-banana", "prompt": "x", "image": png()}, **auth)
    assert_error(r, 403, "permission_denied")
    assert not Job.objects.exists()


def test_a_viewers_key_still_reads_the_catalog_and_its_teams_tasks(client, alpha, alice, dave):
    auth = key_of(dave, alpha)
    job = make_job(alpha, alice)
    assert client.get("/v1/models", **auth).status_code == 200
    assert client.get("/v1/models/veo", **auth).status_code == 200
    assert client.get(f"/v1/tasks/{job.public_id}", **auth).json()["id"] == job.public_id
    assert client.get("/v1/tasks", **auth).status_code == 200


def test_a_member_demoted_to_viewer_stops_spending_at_once(client, alpha, bob, credits):
    auth = key_of(bob, alpha)  # made while bob was a member
    assert post(client, auth, *CREATING[1]).status_code == 200
    Membership.objects.filter(user=bob).update(role="viewer")
    assert_error(post(client, auth, *CREATING[1]), 403, "permission_denied")
    assert Job.objects.count() == 1
    Membership.objects.filter(user=bob).update(role="member")  # and back: it works again
    assert post(client, auth, *CREATING[1]).status_code == 200


def test_member_and_viewer_keys_cant_cancel_the_owners_queued_job(
    client, alpha, alice, bob, dave, credits
):
    owners = post(client, key_of(alice, alpha), *CREATING[1]).json()["id"]
    for user in (bob, dave):
        r = post(client, key_of(user, alpha), f"/v1/tasks/{owners}/cancel")
        assert (
            "Only the person who made this" in assert_error(r, 403, "permission_denied")["message"]
        )
    assert Job.objects.get(public_id=owners).status == "queued"
    assert ledger.balance(alpha) == D("98.00")  # still reserved: nobody released it


def test_a_maker_and_an_admin_can_cancel(client, alpha, alice, bob, credits):
    bobs = post(client, key_of(bob, alpha), *CREATING[1]).json()["id"]
    assert post(client, key_of(bob, alpha), f"/v1/tasks/{bobs}/cancel").status_code == 200
    bobs = post(client, key_of(bob, alpha), *CREATING[1]).json()["id"]
    # alice owns Alpha: she may stop anyone's job.
    assert post(client, key_of(alice, alpha), f"/v1/tasks/{bobs}/cancel").status_code == 200
    assert ledger.balance(alpha) == D("100.00")


def test_a_maker_demoted_to_viewer_cant_cancel_their_own_job(client, alpha, bob, credits):
    auth = key_of(bob, alpha)
    bobs = post(client, auth, *CREATING[1]).json()["id"]
    Membership.objects.filter(user=bob).update(role="viewer")
    assert_error(post(client, auth, f"/v1/tasks/{bobs}/cancel"), 403, "permission_denied")


def test_removing_a_member_revokes_their_keys_in_that_workspace(alpha, other, bob, credits):
    from django.utils import timezone

    Membership.objects.create(user=bob, workspace=other, role="member")
    here, _ = ApiKey.create(user=bob, workspace=alpha, name="here")
    there, _ = ApiKey.create(user=bob, workspace=other, name="there")
    Membership.objects.get(user=bob, workspace=alpha).remove(timezone.now())
    here.refresh_from_db(), there.refresh_from_db()
    assert here.revoked_at is not None and there.revoked_at is None
    # Added back later, the old key stays dead.
    Membership.objects.create(user=bob, workspace=alpha, role="member")
    assert ApiKey.objects.usable().filter(pk=here.pk).count() == 0


def test_the_members_page_revokes_a_removed_members_keys(client, alpha, alice, bob):
    key, _ = ApiKey.create(user=bob, workspace=alpha, name="bob's")
    client.force_login(alice)
    membership = Membership.objects.get(user=bob)
    r = client.post(f"/workspace/members/{membership.pk}/remove/")
    assert r.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.parametrize(
    ("role", "create", "change_own", "change_others"),
    [
        ("viewer", False, False, False),
        ("member", True, True, False),
        ("admin", True, True, True),
        ("owner", True, True, True),
    ],
)
def test_the_rules(alpha, alice, bob, role, create, change_own, change_others):
    membership = Membership.objects.get(user=bob)
    membership.role = role
    own, others = make_job(alpha, bob), make_job(alpha, alice)
    assert permissions.may_create(membership) is create
    assert permissions.may_change_job(membership, own) is change_own
    assert permissions.may_change_job(membership, others) is change_others
    assert permissions.may_change_asset(membership, own) is change_own
