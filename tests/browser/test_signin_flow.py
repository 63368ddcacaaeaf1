from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from studio.accounts.models import Membership, Workspace

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db, monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo", stdout=io.StringIO())
    second = Workspace.objects.create(name="Night shift")
    Membership.objects.create(user_id=_user_id("demo"), workspace=second, role="member")
    return second


def _user_id(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username).id


def test_demo_user_signs_in_switches_workspace_and_signs_out(page, live_server, demo, shot):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    shot("01-sign-in-error")

    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Studio")).to_be_visible()
    expect(page.locator("#workspace-menu summary")).to_contain_text("Demo studio")
    shot("02-studio")

    page.locator("#workspace-menu summary").click()
    shot("03-workspace-menu")
    page.get_by_role("button", name="Night shift").click()
    expect(page.locator("#workspace-menu summary")).to_contain_text("Night shift")
    expect(page.get_by_text("Switched to Night shift.")).to_be_visible()
    shot("04-switched")

    page.locator("#user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    shot("05-signed-out")
