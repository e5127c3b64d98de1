"""Shifts in the console, in real headless Chromium: a volunteer books next Tuesday's evening
in the week view, cancels it and books it again; a coordinator sees the roster of that week
against the opening hours, Tuesday covered and the other evenings marked uncovered, and
books a shift for another volunteer by username (audited). axe-core finds no serious or
critical WCAG violation in the shifts section. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from volunteer.audit import AuditEntry

from ..conftest import Running
from .test_console import ARGS, ARTIFACTS, CHROMIUM, signed_in

AXE = Path(__file__).parents[1] / "e2e" / "vendor" / "axe.min.js"
TZ = ZoneInfo("Europe/Stockholm")
DAYS = ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]


async def axe(page, selector: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # The console's CSP allows no inline script; evaluating it from outside is not a script tag.
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = await page.evaluate(
        "(sel) => axe.run(document.querySelector(sel), {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})", selector)
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


async def shifts_of(server: Running, cookie: str, day: str) -> list[dict]:  # type: ignore[type-arg]
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie}) as client:
        r = await client.get(f"/api/shifts?from={day}&to={day}")
    assert r.status_code == 200
    return r.json()["shifts"]  # type: ignore[no-any-return]


async def test_a_volunteer_books_a_shift_and_the_coordinator_sees_the_roster(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    await server.add_account("vera", display_name="Vera")
    await server.add_account("olle", display_name="Olle")
    await server.add_account("cora", role="coordinator", display_name="Cora")
    async with await server.client("sara", role="supervisor") as sara:
        r = await sara.put("/api/opening-hours", json={"weekly": {d: ["19:00-22:00"] for d in
                                                                  ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
        assert r.status_code == 200
    today = datetime.now(TZ).date()
    tuesday = today - timedelta(days=today.weekday()) + timedelta(days=8)      # next week's Tuesday
    label = f"tisdag {tuesday.day}/{tuesday.month}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx, page = await signed_in(browser, server, "vera", {"width": 1000, "height": 1200})
            await page.goto(f"{server.http}/console")
            await expect(page.locator("#shifts")).to_be_visible()
            await expect(page.locator("#roster")).to_be_hidden()
            await page.get_by_role("button", name="Nästa vecka").click()
            await expect(page.locator("#shifts-days th")).to_have_text(
                [f"{DAYS[n]} {(tuesday + timedelta(days=n - 1)).day}/{(tuesday + timedelta(days=n - 1)).month}"
                 for n in range(7)])
            await page.get_by_role("button", name=f"Boka 19:00–22:00 {label}", exact=True).click()
            result = page.locator("#shifts-result")
            await expect(result).to_have_text(f"Passet är bokat: {label} 19:00–22:00")
            await expect(page.get_by_text("Ditt pass: 19:00–22:00")).to_be_visible()
            cookie = await server.login("vera")
            [booked] = await shifts_of(server, cookie, tuesday.isoformat())
            assert booked["volunteer"] == "Vera" and booked["mine"] is True
            assert datetime.fromisoformat(booked["start"]) == datetime(tuesday.year, tuesday.month, tuesday.day,
                                                                       19, tzinfo=TZ)
            await page.screenshot(path=str(ARTIFACTS / f"console-shifts-booked-{pair}.png"), full_page=True)
            assert await axe(page, "#shifts") == []

            await page.get_by_role("button", name=f"Avboka {label} 19:00–22:00", exact=True).click()
            await expect(result).to_have_text("Passet är avbokat.")
            assert await shifts_of(server, cookie, tuesday.isoformat()) == []
            await page.get_by_role("button", name=f"Boka 19:00–22:00 {label}", exact=True).click()
            await expect(result).to_contain_text("Passet är bokat")
            await ctx.close()

            ctx, page = await signed_in(browser, server, "cora", {"width": 1100, "height": 1400})
            await page.goto(f"{server.http}/console")
            await expect(page.locator("#roster")).to_be_visible()
            await expect(page.locator("#my-shifts")).to_be_hidden()
            await page.get_by_role("button", name="Nästa vecka").click()
            rows = page.locator("#roster-days tr")
            await expect(rows).to_have_count(7)
            await expect(rows.nth(1)).to_contain_text("Vera 19:00–22:00")
            await expect(rows.nth(1)).to_contain_text("Bemannat")
            await expect(rows.nth(2)).to_contain_text("Obemannat: 19:00–22:00")
            await expect(page.locator("#roster-summary")).to_have_text(
                "18 öppna timmar den här veckan har ingen bokad.")

            wednesday = tuesday + timedelta(days=1)
            await page.get_by_label("Användarnamn").fill("olle")
            await page.get_by_label("Datum").fill(wednesday.isoformat())
            await page.get_by_label("Från").fill("19:00")
            await page.get_by_label("Till").fill("20:30")
            await page.get_by_role("button", name="Boka", exact=True).click()
            await expect(page.locator("#shifts-result")).to_contain_text("Passet är bokat")
            await expect(rows.nth(2)).to_contain_text("Olle 19:00–20:30")
            await expect(rows.nth(2)).to_contain_text("Obemannat: 20:30–22:00")
            await page.screenshot(path=str(ARTIFACTS / f"console-roster-{pair}.png"), full_page=True)
            assert await axe(page, "#shifts") == []

            # A bad booking: the server's 400 names the field, shown beside the roster.
            await page.get_by_label("Användarnamn").fill("nobody")
            await page.get_by_role("button", name="Boka", exact=True).click()
            await expect(page.locator("#shifts-result")).to_contain_text("(account)")
            await ctx.close()
        finally:
            await browser.close()
    async with server.app.state.db() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("shift.%")))).all()
    assert actions == ["shift.book"]
