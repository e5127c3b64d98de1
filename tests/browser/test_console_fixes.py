"""The console fixes of issue 22 in real headless Chromium, over both broker pairs.

A volunteer (capacity 1) has a chat whose young person gave no age: the suggestion
reasons read on a line of their own, never a bracket inside a bracket; the chat shows
how long the young person waited and a running timer; the default canned replies are
there out of the box and insert their text. A supervisor takes the chat over: their
header counts it ("1/1", paused for new chats) while the overview shows it. The
volunteer's notice that a supervisor took over is still there when the next chat
(already waiting) arrives a moment later. When that chat ends, "Den unga är ansluten"
goes. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import async_playwright, expect

from ..conftest import Running
from .test_console import ARGS, ARTIFACTS, CHROMIUM, signed_in


async def test_takeover_header_lasting_notice_timers_reasons_snippets_and_presence(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    await server.add_account("anna", display_name="Anna")
    await server.add_account("sara", role="supervisor", display_name="Sara")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            vctx, vpage = await signed_in(browser, server, "anna", {"width": 1280, "height": 900})
            await vpage.goto(f"{server.http}/console")
            status = vpage.locator("#status")
            await expect(status).to_be_enabled()
            await status.click()
            await expect(status).to_have_attribute("aria-pressed", "true")

            first = await server.visitor({"lang": "sv"})
            await first.expect("assigned")
            panel = vpage.locator("article.chat").first
            await expect(panel).to_be_visible()

            # Timers: the wait (under a minute here) and the chat's running clock.
            timer = panel.locator(".timer")
            await expect(timer).to_contain_text("Väntade under en minut")
            await expect(timer).to_contain_text(re.compile(r"Pågått 0:0[0-9]"))
            await expect(timer).to_contain_text(re.compile(r"Pågått 0:0[1-9]"), timeout=4000)   # it runs

            # Suggestion reasons without an age: one level of brackets at most, on their own line.
            reasons = panel.locator(".suggest .reason")
            await expect(reasons.first).to_be_visible()
            for text in await reasons.all_inner_texts():
                assert not text.startswith("("), text
                assert not re.search(r"\([^)]*\(", text), text
            suggest_text = await panel.locator(".suggest").inner_text()
            assert "((" not in suggest_text and "))" not in suggest_text

            # The default canned replies, out of the box: pick one and insert it.
            picker = panel.get_by_label("Standardsvar")
            options = await picker.locator("option").all_inner_texts()
            assert options == ["Hälsning", "Fråga om säkerhet", "Akut fara", "Inte ditt fel", "Hänvisning", "Avslutning"]
            await picker.select_option(label="Fråga om säkerhet")
            await panel.get_by_role("button", name="Infoga").click()
            await expect(panel.locator("textarea").first).to_have_value(re.compile("är du trygg just nu"))
            await vpage.screenshot(path=str(ARTIFACTS / f"console-timers-snippets-{pair}.png"), full_page=True)

            # A second young person waits (Anna is full).
            second = await server.visitor({"lang": "sv"})
            await second.expect("queued")

            # The supervisor takes the first chat over from the overview.
            sctx, spage = await signed_in(browser, server, "sara", {"width": 1280, "height": 900})
            await spage.goto(f"{server.http}/console")
            await expect(spage.locator("#status")).to_be_enabled()
            await expect(spage.locator("#load")).to_have_text("0/1 chattar")
            await spage.locator("#supervise").check()
            row = spage.locator("#overview tbody tr", has_text="Anna").first
            await row.get_by_role("button", name="Observera").click()
            watched = spage.locator("article.chat.observe")
            await expect(watched.locator(".timer")).to_contain_text("Väntade under en minut")   # observing: the timers too
            await expect(watched.locator(".timer")).to_contain_text("Pågått")
            await watched.get_by_role("button", name="Ta över").click()
            mine = spage.locator("article.chat:not(.observe)")
            await expect(mine).to_have_count(1)
            await expect(spage.locator("#load")).to_have_text("1/1 chattar")
            await expect(spage.locator("#status")).to_have_text("Pausad för nya chattar – klicka för att ta emot fler")
            await expect(mine.locator(".timer")).to_contain_text("Pågått")
            await spage.screenshot(path=str(ARTIFACTS / f"console-takeover-header-{pair}.png"), full_page=True)

            # The volunteer: the takeover notice stays while the waiting chat arrives at once.
            notice = vpage.locator("#notice")
            await expect(notice).to_contain_text("En handledare tog över chatten.")
            await second.expect("assigned")
            await expect(notice).to_contain_text("Ny chatt")
            await expect(notice).to_contain_text("En handledare tog över chatten.")
            await asyncio.sleep(9)                 # past the ordinary notice's 8 s: the takeover one remains
            await expect(notice).to_contain_text("En handledare tog över chatten.")
            await expect(notice).not_to_contain_text("Ny chatt")
            await expect(notice).not_to_contain_text("Något gick fel")   # no stray typing frame for a chat let go
            await vpage.screenshot(path=str(ARTIFACTS / f"console-takeover-notice-{pair}.png"), full_page=True)

            # The young person leaves: the "connected" tag goes with the chat.
            now = vpage.locator("article.chat").first
            presence = now.get_by_text("Den unga är ansluten")
            await expect(presence).to_be_visible()
            await second.send({"type": "leave"})
            await expect(now.locator("form.wrapup")).to_be_visible()
            await expect(presence).to_be_hidden()
            await expect(now.locator(".timer")).to_contain_text("Varade")
            await vpage.screenshot(path=str(ARTIFACTS / f"console-ended-presence-{pair}.png"), full_page=True)
            await sctx.close()
            await vctx.close()
        finally:
            await browser.close()
