"""The console's language in real headless Chromium: one choice, shared with the other staff pages, and the
vocabularies' labels from the server (GET /api/vocabularies) in the chosen language."""

from __future__ import annotations

from playwright.async_api import async_playwright, expect

from ..conftest import Running
from .test_console import ARGS, CHROMIUM, signed_in


async def test_english_is_kept_for_every_staff_page_and_the_intake_reads_in_english(server: Running) -> None:
    await server.add_account("anna", display_name="Anna")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx, page = await signed_in(browser, server, "anna", {"width": 1280, "height": 800})
            await page.goto(f"{server.http}/console")
            await expect(page.locator("h1")).to_have_text("Jourchatt – konsol")
            await page.locator("#lang").select_option("en")
            await expect(page.locator("h1")).to_have_text("Jourchatt – console")
            await expect(page.locator("html")).to_have_attribute("lang", "en")
            assert await page.evaluate("localStorage.getItem('jourchatt.lang')") == "en"
            assert await page.evaluate("localStorage.length") == 1          # the language, nothing else

            await page.reload()
            await expect(page.locator("#lang")).to_have_value("en")
            status = page.locator("#status")
            await expect(status).to_be_enabled()
            await expect(status).to_have_text("Paused – click to take chats")
            await status.click()
            await expect(status).to_have_attribute("aria-pressed", "true")
            vis = await server.visitor({"lang": "sv"})
            await vis.expect("welcome")
            await vis.send({"type": "intake", "age": 19, "gender": "nonbinary", "municipality": "other",
                            "first_contact": "not_stated"})
            await vis.expect("assigned")
            intake = page.locator("article.chat .intake")
            await expect(intake).to_contain_text("non-binary")
            await expect(intake).to_contain_text("another municipality")
            await expect(intake).to_contain_text("prefers not to say")

            admin = await ctx.new_page()            # the same choice on /admin (which refuses a volunteer, in English)
            await admin.goto(f"{server.http}/admin")
            await expect(admin.locator("html")).to_have_attribute("lang", "en")
            await expect(admin.locator("#lang")).to_have_value("en")
            await vis.close()
            await ctx.close()
        finally:
            await browser.close()
