"""The supervisor's opening-hours editor in the console, in real headless Chromium.

A supervisor sets Monday 18:00–22:00 and closes Christmas Eve, saves (PUT with the
CSRF header, which the server demands), sees the success, and the public GET returns
that schedule; a bad interval shows the server's error naming the field and changes
nothing; removing the schedule returns to always open. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from datetime import date

import httpx
from playwright.async_api import async_playwright, expect

from ..conftest import Running
from .test_console import ARGS, ARTIFACTS, CHROMIUM, signed_in


async def public_hours(server: Running) -> dict:  # type: ignore[type-arg]
    async with httpx.AsyncClient(base_url=server.http) as client:
        r = await client.get("/api/opening-hours")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_supervisor_edits_saves_and_removes_the_opening_hours(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    today = date.today()
    eve = date(today.year, 12, 24) if today <= date(today.year, 12, 24) else date(today.year + 1, 12, 24)
    await server.add_account("sara", role="supervisor", display_name="Sara")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx, page = await signed_in(browser, server, "sara", {"width": 1000, "height": 1000})
            await page.goto(f"{server.http}/console")
            now = page.locator("#hours-now")
            await expect(now).to_have_text("Inget schema: chatten är alltid öppen.")
            await page.get_by_text("Redigera öppettider").click()
            days = page.locator("#hours-days th")
            await expect(days).to_have_text(["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"])

            # Monday: one interval, typed with an en dash; the new box gets the focus (keyboard flow).
            await page.get_by_role("button", name="Lägg till tid måndag", exact=True).click()
            monday = page.get_by_label("måndag, tid 1", exact=True)
            await expect(monday).to_be_focused()
            await page.keyboard.type("18:00–22:00")
            # A second box left empty is no time; removing it puts the focus back on the first.
            await page.get_by_role("button", name="Lägg till tid måndag", exact=True).click()
            await page.get_by_role("button", name="Ta bort måndag, tid 2", exact=True).click()
            await expect(page.get_by_label("måndag, tid 2", exact=True)).to_have_count(0)
            await expect(monday).to_be_focused()

            # Christmas Eve closed: a new exception is "closed all day" until told otherwise.
            await page.get_by_role("button", name="Lägg till undantag").click()
            date_box = page.get_by_role("group", name="Undantag").get_by_label("Datum", exact=True)
            await expect(date_box).to_be_focused()
            await date_box.fill(eve.isoformat())
            await expect(page.get_by_label("stängt hela dagen")).to_be_checked()
            await page.get_by_label("Benämning (valfri)").fill("Julafton")
            await page.get_by_label("Benämning (valfri)").press("Enter")          # Enter submits the form
            result = page.locator("#hours-result")
            await expect(result).to_have_text("Öppettiderna är sparade.")
            await expect(result).to_have_attribute("aria-live", "polite")
            await expect(now).to_contain_text("Chatten är")
            await expect(now).not_to_contain_text("alltid öppen")

            saved = await public_hours(server)
            assert saved["configured"] is True
            assert saved["weekly"] == {"mon": ["18:00-22:00"], "tue": [], "wed": [], "thu": [], "fri": [],
                                       "sat": [], "sun": []}
            assert saved["exceptions"] == [{"date": eve.isoformat(), "hours": [], "label": "Julafton"}]
            # The form shows what the server stored, in the console's own notation.
            await expect(monday).to_have_value("18:00–22:00")
            await page.screenshot(path=str(ARTIFACTS / f"console-hours-saved-{pair}.png"), full_page=True)

            # A bad interval: the server's invalid_hours names the field; the form names the input.
            await monday.fill("25:00-26:00")
            await page.get_by_role("button", name="Spara öppettiderna").click()
            await expect(result).to_contain_text("Öppettiderna sparades inte. Fel i måndag, tid 1:")
            await expect(result).to_contain_text("25:00-26:00")
            await expect(monday).to_have_attribute("aria-invalid", "true")
            await expect(monday).to_be_focused()
            await page.screenshot(path=str(ARTIFACTS / f"console-hours-error-{pair}.png"), full_page=True)
            assert (await public_hours(server))["weekly"]["mon"] == ["18:00-22:00"]   # nothing changed

            # An open exception needs a time: the form says so before asking the server.
            await page.get_by_label("stängt hela dagen").uncheck()
            await expect(page.get_by_label("Undantag 1, tid 1", exact=True)).to_be_visible()
            await monday.fill("18:00-22:00")
            await page.get_by_role("button", name="Spara öppettiderna").click()
            await expect(result).to_contain_text("Fel i Undantag 1")
            await page.get_by_label("stängt hela dagen").check()

            # English: the same form, the console's English texts.
            await page.locator("#lang").select_option("en")
            await expect(days.first).to_have_text("Monday")
            await expect(page.get_by_label("Monday, time 1", exact=True)).to_have_value("18:00-22:00")
            await page.locator("#lang").select_option("sv")

            # Remove the schedule (confirmed in a dialog, which signed_in accepts): always open again.
            await page.get_by_role("button", name="Ta bort schemat (alltid öppet)").click()
            await expect(result).to_have_text("Schemat är borttaget: chatten är alltid öppen.")
            await expect(now).to_have_text("Inget schema: chatten är alltid öppen.")
            cleared = await public_hours(server)
            assert (cleared["configured"], cleared["open"], cleared["weekly"]) == (False, True, None)
            await expect(page.get_by_label("måndag, tid 1", exact=True)).to_have_count(0)
            await ctx.close()
        finally:
            await browser.close()
