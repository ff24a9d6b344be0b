"""A project's whole life in a real browser, with real e-mail through a local SMTP server.

A coordinator creates a project through the form, prepares and runs its draw (sealed: counts only),
sends the invitations; an invited expert opens the decline link from the received mail and declines;
the replacement is invited by mail; after the start the unsealed committee holds the replacement.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import get_settings
from experts.models import Expert
from tests.api_support import PASSWORD
from tests.e2e.support import CHROMIUM, LAUNCH_ARGS, SHOTS, Clock, free_port, need_chromium, serve

EXPERT_CODE = re.compile(r"\bE(0[1-9]|1[0-5])\b")
DECLINE_LINK = re.compile(r"https?://\S+?action=decline")
AFTER_P2_START = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 local on the new project's day


@dataclass
class Mail:
    """One message the SMTP server accepted."""

    to: str
    subject: str
    body: str


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        """Store the message (one per recipient) and accept it."""
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        body = part.get_content() if part is not None else ""
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.mails.append(Mail(to=rcpt, subject=str(msg["subject"]), body=body))
        return "250 OK"


def _addresses(session: Session) -> None:
    for expert in session.exec(select(Expert)).all():
        expert.email = f"{expert.code.lower()}@experts.test"
        session.add(expert)


@pytest.fixture
def life(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Clock, Inbox]]:
    """The service sending mail to an in-process SMTP server; yields base URL, clock and inbox."""
    need_chromium()
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp_port, port = free_port(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    monkeypatch.setenv("YIDI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("YIDI_SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("YIDI_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    # Only the test's "send now" clicks send, so no job run races them.
    monkeypatch.setenv("YIDI_NOTIFY_DISPATCH_INTERVAL_SECONDS", "86400")
    get_settings.cache_clear()
    try:
        with serve(tmp_path, monkeypatch, port=port, prepare=_addresses) as (base, moving):
            yield base, moving, inbox
    finally:
        controller.stop()
        monkeypatch.undo()
        get_settings.cache_clear()


def _code(address: str) -> str:
    return address.split("@", 1)[0].upper()


def _fill_project(page: Any) -> None:
    page.fill("input[name=code]", "P2")
    page.fill("input[name=name]", "city library fit-out")
    page.select_option("select[name=procedure]", "engineering_tender")
    page.fill("input[name=budget]", "12000000")
    page.fill("input[name=region]", "370114")
    page.fill("input[name=tenderer_code]", "TEND")
    page.fill("input[name=agent_code]", "AGENT")
    page.fill("input[name=supervisor_org_codes]", "SUP")
    page.fill("input[name=start]", "2026-11-24T09:00")
    page.fill("input[name=end]", "2026-11-24T12:00")
    page.fill("input[name=size]", "5")
    page.fill("input[name=representatives]", "1")
    page.select_option("select[name=main_site_code]", "MAIN")
    page.check("input[name=aux_mode][value=list]")
    page.check("input[name=aux_site_codes][value=AUXA]")
    specs, counts = page.locator("input[name=need_specialty]"), page.locator("input[name=need_count]")
    specs.nth(0).fill("A08")
    counts.nth(0).fill("3")
    specs.nth(1).fill("A06")
    counts.nth(1).fill("1")


def _page_text_without_tokens(page: Any) -> str:
    html = str(page.content())
    for token in page.locator("input[name=csrf_token]").evaluate_all("els => els.map(e => e.value)"):
        html = html.replace(token, "")
    return html


def test_full_life_of_a_project(life: tuple[str, Clock, Inbox]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, moving, inbox = life
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "coord")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{base}/calendar?month=2026-11")
            page.click("#new-project")
            expect(page).to_have_url(f"{base}/projects/new")
            _fill_project(page)
            page.screenshot(path=str(SHOTS / "yidi-life-new-project.png"), full_page=True)
            page.click("#save-project")
            expect(page).to_have_url(f"{base}/projects/P2")
            expect(page.locator("h1").first).to_contain_text("P2")

            page.click("#prepare-draw")
            expect(page.locator("#commitment")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
            page.click("#run-draw")
            expect(page.locator("#seat-counts")).to_be_visible()
            page.screenshot(path=str(SHOTS / "yidi-life-sealed.png"), full_page=True)
            counts = page.locator("#seat-counts tbody td:nth-child(2)").all_inner_texts()
            assert sum(int(n) for n in counts) == 4  # size 5 less 1 representative
            assert not EXPERT_CODE.search(_page_text_without_tokens(page))
            expect(page.locator("#notify-counts [data-status=pending]")).to_have_text("4")
            page.screenshot(path=str(SHOTS / "yidi-life-sealed.png"), full_page=True)

            assert inbox.mails == []
            page.click("#send-now")
            expect(page.locator("#notify-counts [data-status=sent]")).to_have_text("4")
            assert not EXPERT_CODE.search(_page_text_without_tokens(page))
            invited = {_code(m.to) for m in inbox.mails}
            assert len(inbox.mails) == 4 and len(invited) == 4
            for mail in inbox.mails:
                assert "2026-11-24 09:00" in mail.body and re.search(r"(MAIN|AUXA)-R\d", mail.body)
                # The signed RSVP links are random base64 and may spell anything; judge the prose.
                prose = re.sub(r"https?://\S+", "<link>", mail.body)
                assert "TEND" not in prose and "city library" not in prose and "P2" not in prose
            page.screenshot(path=str(SHOTS / "yidi-life-sent.png"), full_page=True)

            # An invited expert declines through the link of the mail they received.
            decliner_mail = sorted(inbox.mails, key=lambda m: m.to)[0]
            decliner = _code(decliner_mail.to)
            found = DECLINE_LINK.search(decliner_mail.body)
            assert found is not None, decliner_mail.body
            expert_page = browser.new_page()
            expert_page.goto(found.group(0))
            expert_page.click("button[value=decline]")
            expect(expert_page.locator(".msg")).to_contain_text("替补专家已被通知")
            expert_page.screenshot(path=str(SHOTS / "yidi-life-declined.png"), full_page=True)

            page.reload()
            expect(page.locator("#replacement-count")).to_contain_text("1")
            expect(page.locator("#notify-counts [data-answer=declined]")).to_have_text("1")
            assert not EXPERT_CODE.search(_page_text_without_tokens(page))
            page.click("#send-now")
            expect(page.locator("#notify-counts [data-status=sent]")).to_have_text("5")
            assert len(inbox.mails) == 5
            replacement_mail = inbox.mails[-1]
            replacement = _code(replacement_mail.to)
            assert replacement not in invited and "替补" in replacement_mail.subject
            assert "2026-11-24 09:00" in replacement_mail.body
            assert "TEND" not in re.sub(r"https?://\S+", "<link>", replacement_mail.body)

            moving.at = AFTER_P2_START
            page.reload()
            page.click("#unseal")
            committee = page.locator("#committee")
            expect(committee).to_be_visible()
            members = {f"E{m}" for m in EXPERT_CODE.findall(committee.inner_text())}
            assert members == (invited - {decliner}) | {replacement}
            expect(page.locator("#replacements")).to_contain_text(f"{decliner} → {replacement}")
            page.screenshot(path=str(SHOTS / "yidi-life-committee.png"), full_page=True)
        finally:
            browser.close()
