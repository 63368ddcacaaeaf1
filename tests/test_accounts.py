from __future__ import annotations

import pytest
from django.urls import reverse

from studio.accounts.current import SESSION_KEY
from studio.accounts.models import Membership, Workspace
from tests.conftest import PASSWORD


def test_it_shows_a_form_error_for_a_wrong_password(client, alice):
    r = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert r.status_code == 200
    assert b"Please enter a correct username and password" in r.content
    assert "_auth_user_id" not in client.session


def test_it_signs_in_and_out(client, alice):
    r = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert r.status_code == 302 and r.url == reverse("studio")
    assert client.get(reverse("studio")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("studio")).status_code == 302


def test_the_studio_needs_a_signed_in_user(client, db):
    r = client.get(reverse("studio"))
    assert r.status_code == 302
    assert r.url.startswith(reverse("login"))


def test_it_switches_to_a_workspace_the_user_belongs_to(client, alice, other):
    Membership.objects.create(user=alice, workspace=other, role="viewer")
    client.force_login(alice)
    r = client.post(reverse("switch_workspace", args=[other.id]), {"next": "/"})
    assert r.status_code == 302
    assert client.session[SESSION_KEY] == other.id
    assert b"Other" in client.get(reverse("studio")).content


def test_a_foreign_workspace_in_the_switcher_answers_404(client, alice, other):
    client.force_login(alice)
    r = client.post(reverse("switch_workspace", args=[other.id]))
    assert r.status_code == 404
    assert SESSION_KEY not in client.session


def test_switch_ignores_an_offsite_next(client, alice, alpha):
    client.force_login(alice)
    r = client.post(reverse("switch_workspace", args=[alpha.id]), {"next": "https://evil.test/"})
    assert r.url == reverse("studio")


def test_an_admin_creates_a_member_account(client, alice, alpha, django_user_model):
    client.force_login(alice)
    r = client.post(
        reverse("members"), {"username": "dora", "role": "member", "password": "a-long-passphrase"}
    )
    assert r.status_code == 302
    dora = django_user_model.objects.get(username="dora")
    assert dora.check_password("a-long-passphrase")
    assert Membership.objects.get(user=dora, workspace=alpha).role == "member"


def test_an_admin_adds_an_existing_user(client, alice, charlie, alpha):
    client.force_login(alice)
    r = client.post(reverse("members"), {"username": "charlie", "role": "viewer"})
    assert r.status_code == 302
    assert Membership.objects.get(user=charlie, workspace=alpha).role == "viewer"


def test_adding_an_unknown_user_without_password_is_a_form_error(client, alice):
    client.force_login(alice)
    r = client.post(reverse("members"), {"username": "ghost", "role": "member"})
    assert r.status_code == 200
    assert b"give a password to create one" in r.content


def test_a_member_cannot_add_members(client, bob, alpha):
    client.force_login(bob)
    r = client.post(
        reverse("members"), {"username": "eve", "role": "owner", "password": "a-long-passphrase"}
    )
    assert r.status_code == 302
    assert not Membership.objects.filter(user__username="eve").exists()


def test_a_member_cannot_change_roles(client, alice, bob):
    client.force_login(bob)
    m = Membership.objects.get(user=bob)
    r = client.post(reverse("update_member", args=[m.id]), {"role": "owner"})
    assert r.status_code == 403
    m.refresh_from_db()
    assert m.role == "member"


def test_the_last_owner_cannot_be_demoted_or_removed(client, alice):
    client.force_login(alice)
    m = Membership.objects.get(user=alice)
    client.post(reverse("update_member", args=[m.id]), {"role": "member"})
    client.post(reverse("remove_member", args=[m.id]))
    m.refresh_from_db()
    assert m.role == "owner"


def test_an_admin_cannot_touch_another_workspaces_member(client, alice, charlie):
    client.force_login(alice)
    m = Membership.objects.get(user=charlie)
    assert client.post(reverse("remove_member", args=[m.id])).status_code == 404
    assert Membership.objects.filter(pk=m.pk).exists()


def test_a_user_creates_a_workspace_and_owns_it(client, alice):
    client.force_login(alice)
    r = client.post(reverse("new_workspace"), {"name": "Beta"})
    assert r.status_code == 302
    beta = Workspace.objects.get(name="Beta")
    assert Membership.objects.get(user=alice, workspace=beta).role == "owner"
    assert client.session[SESSION_KEY] == beta.id


def test_a_duplicate_workspace_name_is_a_form_error(client, alice, alpha):
    client.force_login(alice)
    r = client.post(reverse("new_workspace"), {"name": "alpha"})
    assert r.status_code == 200
    assert b"already exists" in r.content


def test_a_user_without_a_workspace_is_told_so(client, make_user):
    client.force_login(make_user("loner"))
    r = client.get(reverse("studio"))
    assert r.status_code == 403
    assert b"not in a workspace yet" in r.content


@pytest.mark.parametrize("password", ["", "short"])
def test_password_change_rejects_bad_passwords(client, alice, password):
    client.force_login(alice)
    r = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert r.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_password_change_signs_out_other_sessions_and_says_so(alice):
    from django.test import Client

    here, elsewhere = Client(), Client()
    for c in (here, elsewhere):
        c.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    new = "a-brand-new-passphrase"
    r = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert b"everywhere else you were signed in" in r.content
    assert b"stay signed in until" not in r.content
    assert here.get(reverse("studio")).status_code == 200  # this session goes on
    assert elsewhere.get(reverse("studio")).status_code == 302  # the other is signed out
