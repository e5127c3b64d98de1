"""Topic routing in the console, in real Chromium: the volunteer sees the young person's
topic and gets suggestions that lead with perpetrator programmes; the supervisor's overview
shows who holds which skill and the chat kept for a busy specialist, and hands it to the
first free volunteer with one click."""

from __future__ import annotations

from playwright.async_api import async_playwright, expect

from ..conftest import CHROMIUM, Running
from .test_console import ARGS, ARTIFACTS, signed_in


async def test_the_topic_in_the_console_and_a_kept_chat_handed_on(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: Running = await server_factory(specialist_wait_s=600)
    ARTIFACTS.mkdir(exist_ok=True)
    await server.add_account("sara", display_name="Sara", skills=("uses_violence",))
    await server.add_account("anna", display_name="Anna")
    await server.add_account("stina", role="supervisor", display_name="Stina")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            vctx, vpage = await signed_in(browser, server, "sara", {"width": 1280, "height": 800})
            await vpage.goto(f"{server.http}/console")
            status = vpage.locator("#status")
            await expect(status).to_be_enabled()
            await status.click()
            await expect(status).to_have_attribute("aria-pressed", "true")
            first = await server.visitor({"lang": "sv", "topic": "uses_violence"})
            await first.expect("assigned")
            await first.send({"type": "intake", "age": 19, "municipality": "0182"})
            panel = vpage.locator("article.chat").first
            await expect(panel.locator(".intake")).to_contain_text("Vill prata om")
            await expect(panel.locator(".intake")).to_contain_text("utövar våld")
            first_service = panel.locator(".suggest li").first
            await expect(first_service).to_contain_text("Alternativ till våld")   # a perpetrator programme leads

            # Sara is busy now: the next topic chat is kept for her, even with Anna free.
            anna = await server.volunteer("anna")
            kept = await server.visitor({"lang": "sv", "topic": "uses_violence"})
            await kept.expect("queued")
            await anna.none_of("assigned", 0.3)
            sctx, spage = await signed_in(browser, server, "stina", {"width": 1280, "height": 900})
            await spage.goto(f"{server.http}/console")
            await expect(spage.locator("#status")).to_be_enabled()
            await spage.locator("#supervise").check()
            overview = spage.locator("#overview")
            await expect(overview.locator("table", has=spage.locator("th", has_text="Kompetenser")).locator("tbody tr", has_text="Sara")).to_contain_text("utövar våld")
            row = overview.locator("tbody tr", has_text="Väntar på specialist")
            await expect(row).to_be_visible()
            await spage.screenshot(path=str(ARTIFACTS / "console-topics-overview.png"), full_page=True)
            await expect(overview).not_to_contain_text("null")
            await row.get_by_role("button", name="Ge till första lediga").click()
            assert (await kept.expect("assigned"))["volunteer"] == "Anna"
            await anna.expect("assigned")
            await sctx.close()
            await vctx.close()
        finally:
            await browser.close()
