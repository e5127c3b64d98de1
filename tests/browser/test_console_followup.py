"""A chat kept for the busy volunteer of its follow-up code, in the supervisor's overview in
real Chromium: shown like a chat kept for a specialist ("Väntar på Sara"), handed to the first
free volunteer with one click, and the young person is told."""

from __future__ import annotations

import re

from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from chat import followup
from volunteer.models import Account

from ..conftest import CHROMIUM, Running
from .test_console import ARGS, ARTIFACTS, signed_in


async def test_a_chat_kept_for_its_volunteer_in_the_overview_and_handed_on(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await server.add_account("sara", display_name="Sara")
    await server.add_account("anna", display_name="Anna")
    await server.add_account("stina", role="supervisor", display_name="Stina")
    async with server.app.state.db() as session:
        sara_id = await session.scalar(select(Account.id).where(Account.username == "sara"))
    assert sara_id is not None
    code = await followup.issue(server.app.state.db, server.settings.secret, sara_id)
    sara = await server.volunteer("sara")
    first = await server.visitor({"lang": "sv"})
    await first.expect("assigned")
    await sara.expect("assigned")
    anna = await server.volunteer("anna")
    back = await server.visitor({"lang": "sv", "followup": code})
    assert (await back.expect("followup_away"))["kept"] is True
    await anna.none_of("assigned", 0.3)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            sctx, spage = await signed_in(browser, server, "stina", {"width": 1280, "height": 900})
            await spage.goto(f"{server.http}/console")
            await expect(spage.locator("#status")).to_be_enabled()
            await spage.locator("#supervise").check()
            overview = spage.locator("#overview")
            row = overview.locator("tbody tr", has_text="Väntar på Sara (uppföljningskod)")
            await expect(row).to_be_visible()
            await expect(overview).not_to_contain_text("undefined")
            # No topic: the cell says who the chat waits for, without a lone dash before it.
            await expect(row.locator("td").nth(5)).to_have_text(re.compile(r"^Väntar på Sara \(uppföljningskod\) \(\d+ min\)$"))
            await expect(overview.locator("p.queue")).to_contain_text("1 väntar på sin volontär")
            await spage.screenshot(path=str(ARTIFACTS / "console-followup-kept.png"), full_page=True)
            await row.get_by_role("button", name="Ge till första lediga").click()
            released = await back.expect("followup_kept")
            assert released["kept"] is False and released["reason"] == "supervisor"
            assert (await back.expect("assigned"))["volunteer"] == "Anna"
            await anna.expect("assigned")
            await expect(overview.locator("tbody tr", has_text="Väntar på Sara")).to_have_count(0)
            await sctx.close()
        finally:
            await browser.close()
