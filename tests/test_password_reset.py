"""Forgotten passwords: from the sign-in page to a mail, its link and a new password — and how
EMAIL_URL says where mail goes."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from studio import settings as studio_settings
from tests.conftest import PASSWORD

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture(autouse=True)
def _mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def reset_link(message) -> str:
    return re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body)[1]


def test_a_person_resets_a_forgotten_password_by_mail(client, alice):
    alice.email = "alice@example.com"
    alice.save()
    login = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in login and "Forgot your password?" in login

    r = client.post("/accounts/password/reset/", {"email": "ALICE@example.com"}, follow=True)
    assert r.redirect_chain[-1][0] == "/accounts/password/reset/sent/"
    assert b"Check your e-mail" in r.content
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your Pixapi Studio password"
    assert message.from_email == "Pixapi Studio <studio@localhost>"
    assert "Hello alice," in message.body

    form = client.get(reset_link(message), follow=True)
    assert b"Choose a new password" in form.content
    r = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert r.redirect_chain[-1][0] == "/accounts/password/reset/complete/"
    assert b"Your new password is set" in r.content
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and not alice.check_password(PASSWORD)
    assert client.login(username="alice", password=NEW_PASSWORD)

    # The link works once.
    client.logout()
    again = client.get(reset_link(message), follow=True)
    assert b"This link doesn" in again.content and b"Choose a new password" not in again.content


def test_an_unknown_or_deactivated_address_gets_the_same_page_and_no_mail(client, alice):
    alice.email = "alice@example.com"
    alice.is_active = False
    alice.save()
    for email in ("nobody@example.com", "alice@example.com"):
        r = client.post("/accounts/password/reset/", {"email": email}, follow=True)
        assert r.redirect_chain[-1][0] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_a_bad_address_is_a_form_error_not_a_500(client, db):
    r = client.post("/accounts/password/reset/", {"email": "not an address"})
    assert r.status_code == 200 and b"Enter a valid email address." in r.content


def test_the_pages_are_in_the_studios_look(client, db):
    html = client.get("/accounts/password/reset/").content.decode()
    assert "auth-card" in html and "css/studio.css" in html
    bad = client.get("/accounts/password/reset/MQ/set-password/", follow=True)
    assert bad.status_code == 200 and "This link doesn" in bad.content.decode()


def test_email_url_configures_smtp_and_defaults_to_the_console():
    assert studio_settings.email_from_url("console://") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    smtp = studio_settings.email_from_url(
        "smtp://mailer%40studio:p%40ss:w@mx.example.com:587/?tls=1"
    )
    assert smtp == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mx.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer@studio",
        "EMAIL_HOST_PASSWORD": "p@ss:w",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 30.0,
    }
    implicit = studio_settings.email_from_url("smtps://u:p@mx.example.com?timeout=5")
    assert (implicit["EMAIL_PORT"], implicit["EMAIL_USE_SSL"], implicit["EMAIL_TIMEOUT"]) == (
        465,
        True,
        5.0,
    )
    plain = studio_settings.email_from_url("smtp://relay.internal")
    assert (plain["EMAIL_PORT"], plain["EMAIL_HOST_USER"], plain["EMAIL_USE_TLS"]) == (
        25,
        "",
        False,
    )
    for refused in (
        "smtp://",
        "mailgun://key@x",
        "smtp://h/?tls=yes-please",
        "smtp://h/?tls=1&ssl=1",
        "smtp://h:port",
        "smtp://h/?timeout=soon",
        "smtp://h/?starttls=1",
    ):
        with pytest.raises(ImproperlyConfigured):
            studio_settings.email_from_url(refused)
