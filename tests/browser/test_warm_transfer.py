"""A warm transfer between two consoles, and the debrief button, in real headless Chromium.

Anna offers her chat to Bo with a handover note; Bo's console shows the offer (the note,
the intake, a countdown), both pages reload and find the offer again, and Bo takes it; only then does the visitor (a websockets
client) hear of it. Bo ends the chat, asks for a debrief from the wrap-up and marks it
heavy; the supervisor's overview shows the debrief alert. axe-core finds no serious
violation on the offer card or the wrap-up. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright, expect

from ..conftest import CHROMIUM, CHROMIUM_ARGS, Running

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "tests" / "e2e" / "vendor" / "axe.min.js"
NOTE = "Hon är rädd och vill prata om skolan. Var lugn och fråga om hon är trygg i kväll."


async def console(browser: Any, server: Running, username: str) -> tuple[Any, Page]:
    cookie = await server.login(username)
    name, _, value = cookie.partition("=")
    # bypass_csp: only so that the test may add axe-core to the page
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE", bypass_csp=True)
    await context.add_cookies([{"name": name, "value": value, "url": server.http}])
    page = await context.new_page()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.goto(f"{server.http}/console")
    await expect(page.locator("#status")).to_be_enabled()
    return context, page


async def serious_violations(page: Page, within: str = "html") -> list[dict[str, Any]]:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "(within) => axe.run(document.querySelector(within), "
        "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})", within)
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def test_a_warm_transfer_between_two_consoles_and_the_debrief_button(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    await server.add_account("anna", display_name="Anna")
    await server.add_account("bo", display_name="Bo")
    await server.add_account("sara", role="supervisor", display_name="Sara")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            actx, anna = await console(browser, server, "anna")
            bctx, bo = await console(browser, server, "bo")            # Bo stays paused
            await anna.locator("#status").click()
            await expect(anna.locator("#status")).to_have_attribute("aria-pressed", "true")
            vis = await server.visitor({"lang": "sv"})
            await vis.expect("welcome")
            await vis.send({"type": "intake", "age": 15})
            await vis.expect("assigned")
            panel = anna.locator("article.chat").first
            await expect(panel.locator(".intake")).to_contain_text("15")

            # Anna opens "Lämna över…", picks Bo, writes the note and offers the chat.
            await panel.get_by_role("button", name="Lämna över…").click()
            await panel.get_by_label("Till").select_option(label="Bo (pausad)")
            await panel.get_by_label("Överlämning (bara mottagaren ser den, den sparas inte)").fill(NOTE)
            await anna.screenshot(path=str(ARTIFACTS / f"transfer-offer-form-{pair}.png"), full_page=True)
            await panel.get_by_role("button", name="Erbjud chatten").click()
            await expect(panel.locator("p[role=status]")).to_contain_text("Erbjudandet är skickat till 1")

            # Bo's console: the offer with the note and the intake; the visitor knows nothing yet.
            card = bo.locator("#offers article.offer")
            await expect(card).to_contain_text("Anna vill lämna över en chatt till dig")
            await expect(card.locator(".note")).to_contain_text(NOTE)
            await expect(card).to_contain_text("Ålder: 15")
            await expect(card).to_contain_text("s kvar")
            await bo.screenshot(path=str(ARTIFACTS / f"transfer-offer-received-{pair}.png"), full_page=True)
            assert await serious_violations(bo) == []
            await vis.none_of("assigned")
            # Both pages reload while the offer is open: Bo's card comes back (note, time left), and
            # Anna's panel says again that she waits for an answer.
            await bo.reload()
            await expect(card.locator(".note")).to_contain_text(NOTE)
            await expect(card).to_have_count(1)
            await expect(card).to_contain_text("s kvar")
            await anna.reload()
            panel = anna.locator("article.chat").first
            await expect(panel.locator("p[role=status]")).to_contain_text("Erbjudandet är skickat till 1")
            await card.get_by_role("button", name="Ta chatten").click()

            # The chat is Bo's now; Anna's panel goes; the visitor is told who answers.
            await expect(bo.locator("article.chat")).to_have_count(1)
            await expect(bo.locator("#offers")).to_have_count(0)
            assert (await vis.expect("assigned"))["volunteer"] == "Bo"
            assert (await vis.line("system"))["key"] == "transferred"
            await expect(anna.locator("article.chat")).to_have_count(0)
            await expect(anna.locator("#notice")).to_contain_text("Bo tog över chatten.")
            await anna.screenshot(path=str(ARTIFACTS / f"transfer-sender-after-{pair}.png"), full_page=True)
            bpanel = bo.locator("article.chat").first
            box = bpanel.locator("textarea").first
            await box.fill("Hej, jag heter Bo och tar över nu.")
            await box.press("Enter")
            assert (await vis.line("volunteer"))["text"] == "Hej, jag heter Bo och tar över nu."

            # The supervisor watches the overview.
            sctx, sara = await console(browser, server, "sara")
            await sara.locator("#supervise").check()
            await expect(sara.locator("#overview")).to_contain_text("Bo")
            # She offers Bo's chat to Anna on his behalf, from the overview; Anna declines.
            row = sara.locator("#overview tbody tr", has_text="Bo").first
            await row.get_by_label("Till").select_option(label="Anna")   # Sara is on the list too
            await row.get_by_role("button", name="Erbjud chatten").click()
            offered = anna.locator("#offers article.offer")
            await expect(offered).to_contain_text("Sara vill lämna över en chatt till dig")
            await expect(offered).to_contain_text("Ingen överlämning skrevs.")
            await offered.get_by_role("button", name="Tacka nej").click()
            await expect(sara.locator("#notice")).to_contain_text("Anna tackade nej.")
            await expect(anna.locator("#offers")).to_have_count(0)

            # Bo ends the chat and, from the wrap-up, asks for a debrief.
            await bpanel.get_by_role("button", name="Avsluta chatten").click()
            wrapup = bpanel.locator("form.wrapup")
            await expect(wrapup).to_be_visible()
            debrief = wrapup.get_by_role("button", name="Be om avlastningssamtal")
            await debrief.click()
            await expect(wrapup.locator("button.debrief")).to_be_disabled()
            await expect(wrapup.locator("button.debrief")).to_have_text(
                "Handledaren har fått din begäran om avlastningssamtal.")
            await expect(sara.locator("#overview ul.alerts")).to_contain_text("vill ha avlastningssamtal – Bo")
            await sara.screenshot(path=str(ARTIFACTS / f"transfer-debrief-overview-{pair}.png"), full_page=True)
            # The whole console with a chat, its log and the wrap-up form (the log's lines are a
            # list inside a role="log" region, so axe finds no listitem problem).
            assert await serious_violations(bo) == []
            await bo.screenshot(path=str(ARTIFACTS / f"transfer-debrief-wrapup-{pair}.png"), full_page=True)
            await wrapup.locator("input[name=topic]").first.check()
            await wrapup.get_by_label("Samtalet var tungt för mig").check()
            await wrapup.get_by_role("button", name="Spara efterarbetet").click()
            await expect(bo.locator("article.chat")).to_have_count(0)
            await vis.close()
            for ctx in (sctx, bctx, actx):
                await ctx.close()
        finally:
            await browser.close()
