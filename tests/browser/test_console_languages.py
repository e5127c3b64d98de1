"""The supervisor's overview per language in real headless Chromium: waiting chats in each
language, who on duty speaks it, languages nobody on duty speaks marked; languages by name."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect

from ..conftest import CHROMIUM, CHROMIUM_ARGS, Running
from .test_console import signed_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def test_the_overview_shows_the_queue_and_speakers_per_language(server: Running) -> None:
    await server.add_account("hodan", languages="sv,so", display_name="Hodan")
    await server.volunteer("hodan", available=False)
    for lang in ("ar", "ar", "so"):
        vis = await server.visitor({"lang": lang})
        await vis.expect("queued")
    await server.add_account("sara", role="supervisor", display_name="Sara")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context, page = await signed_in(browser, server, "sara", {"width": 1280, "height": 1000})
            await page.goto(f"{server.http}/console")
            await expect(page.locator("#supervisor")).to_be_visible()
            await page.locator("#supervise").check()
            table = page.locator("#overview table", has=page.locator("caption", has_text="per språk"))
            arabic = table.locator("tr", has=page.get_by_role("rowheader", name="arabiska"))
            await expect(arabic).to_contain_text("2 (längst väntan")
            await expect(arabic).to_contain_text("ingen – hänvisa eller flytta till en annan kö")
            await expect(arabic).to_have_class("unstaffed")
            somali = table.locator("tr", has=page.get_by_role("rowheader", name="somaliska"))
            await expect(somali).to_contain_text("Hodan")
            await expect(somali).not_to_have_class("unstaffed")
            queued = page.locator("#overview tbody tr", has_text="i kö").first
            await expect(queued).to_contain_text("arabiska")                 # a label, never the code
            await expect(queued).not_to_contain_text("null")
            await expect(table.get_by_role("rowheader", name="tigrinja")).to_have_count(0)   # nobody, no chat
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "console-overview-languages.png"), full_page=True)
            await context.close()
        finally:
            await browser.close()
