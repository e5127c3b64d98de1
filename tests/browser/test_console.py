"""The console in real headless Chromium (Debian's /usr/bin/chromium, no browser download).

One browser for the module's test; a volunteer and a supervisor each in a context of
their own. The volunteer signs in on the real /login page with password and TOTP
code; the supervisor by posting /api/login and handing the cookie to the browser.
A visitor is a websockets client. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from referral.record import ChatRecord

from ..conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Running

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ARGS = CHROMIUM_ARGS
# The console's modules keep their socket to themselves: the test keeps a hand on every
# socket the page opens, to drop the connection from outside.
KEEP_SOCKETS = """(() => {
  const Native = window.WebSocket;
  window.testSockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.testSockets.push(this); }
  };
})();"""


async def signed_in(browser, server: Running, username: str, viewport: dict[str, int]):  # type: ignore[no-untyped-def]
    cookie = await server.login(username)
    name, _, value = cookie.partition("=")
    context = await browser.new_context(viewport=viewport, locale="sv-SE")
    await context.add_cookies([{"name": name, "value": value, "url": server.http}])
    page = await context.new_page()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    return context, page


async def test_volunteer_chats_refers_ends_files_and_a_supervisor_joins(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    await server.add_account("anna", display_name="Anna")
    await server.add_account("sara", role="supervisor", display_name="Sara")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # Not signed in: the page sends you to /login, to come back here afterwards.
            anon = await browser.new_page()
            await anon.goto(f"{server.http}/console")
            await anon.wait_for_url(lambda url: url == f"{server.http}/login?next=/console")
            await anon.close()

            # The volunteer signs in on the login page: password, then the authenticator's code.
            vctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="sv-SE")
            await vctx.add_init_script(KEEP_SOCKETS)
            vpage = await vctx.new_page()
            vpage.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await vpage.goto(f"{server.http}/login")
            await vpage.locator("#username").fill("anna")
            await vpage.locator("#password").fill(PASSWORD)
            await vpage.locator("#otp").fill(await server.code("anna"))
            await vpage.get_by_role("button", name="Logga in").click()
            await vpage.wait_for_url(f"{server.http}/console")
            status = vpage.locator("#status")
            await expect(status).to_be_enabled()
            await expect(status).to_have_attribute("aria-pressed", "false")
            await status.focus()
            await vpage.keyboard.press("Enter")          # keyboard only
            await expect(status).to_have_attribute("aria-pressed", "true")

            vis = await server.visitor({"lang": "sv"})
            await vis.expect("welcome")
            await vis.send({"type": "intake", "age": 16, "gender": "girl", "municipality": "0180",
                            "district": "sodermalm"})
            await vis.expect("assigned")
            panel = vpage.locator("article.chat").first
            await expect(panel).to_be_visible()
            await expect(panel.locator(".intake")).to_contain_text("16")
            await expect(panel.locator(".intake")).to_contain_text("Södermalm")
            await vis.send({"type": "typing", "active": True})
            await expect(panel.locator(".typing")).to_have_text("Skriver…")
            await vis.send({"type": "message", "id": "v1", "text": "hej, jag behöver prata"})
            await expect(panel.locator(".log")).to_contain_text("hej, jag behöver prata")

            box = panel.locator("textarea").first
            await box.fill("Hej! Jag heter Anna. Vad vill du prata om?")
            await box.press("Enter")
            line = await vis.line("volunteer")
            assert line["text"] == "Hej! Jag heter Anna. Vad vill du prata om?"
            await expect(panel.locator(".log li.volunteer")).to_contain_text("levererat")
            # Suggestions for a 16-year-old in Södermalm, with reasons; one click refers.
            suggest = panel.locator(".suggest")
            await expect(suggest).to_contain_text("Stödcentrum")
            await expect(suggest).not_to_contain_text("Relationsvåldscentrum")       # RVC is 18+
            await suggest.locator("li", has_text="Stödcentrum").get_by_role("button", name="Hänvisa").click()
            referral = await vis.expect("referral")
            [card] = referral["services"]
            assert "Stödcentrum" in card["name"] and len(card["code"].replace("-", "")) == 10
            await expect(panel.locator(".log")).to_contain_text("Hänvisning skickad: Stödcentrum")

            # The connection drops and comes back: a banner each way, nothing doubled.
            await vpage.evaluate("window.testSockets.at(-1).close()")
            await expect(vpage.locator("#banner")).to_contain_text("Anslutningen bröts")
            await expect(vpage.locator("#banner")).to_contain_text("tillbaka", timeout=10000)
            await expect(panel.locator(".log li:not(.system)")).to_have_count(2)
            await vpage.screenshot(path=str(ARTIFACTS / f"console-volunteer-{pair}.png"), full_page=True)

            # The supervisor (tablet width) sees the chat in the overview and joins it.
            sctx, spage = await signed_in(browser, server, "sara", {"width": 820, "height": 1180})
            await spage.goto(f"{server.http}/console")
            await expect(spage.locator("#supervisor")).to_be_visible()
            await expect(spage.locator("#status")).to_be_enabled()
            await spage.locator("#supervise").check()
            row = spage.locator("#overview tbody tr", has_text="Anna").first
            await expect(row).to_contain_text("pågår")
            # Silent observation first (the volunteer sees it, the visitor does not), a whisper ...
            observe = row.get_by_role("button", name="Observera")
            await observe.focus()
            await asyncio.sleep(1.2)                      # an overview refresh keeps the focus
            await spage.keyboard.press("Enter")
            watched = spage.locator("article.chat.observe")
            await expect(watched).to_contain_text("hej, jag behöver prata")
            await expect(panel).to_contain_text("Handledare observerar: Sara")
            await watched.locator("textarea").first.fill("Fråga hur skolan går")
            await watched.get_by_role("button", name="Viska").click()
            await expect(panel.locator(".log li.whisper")).to_contain_text("Fråga hur skolan går")
            # ... then joining openly from the observation panel.
            await watched.get_by_role("button", name="Anslut öppet").click()
            joined = spage.locator("article.chat.observe")
            await expect(joined).to_contain_text("Anslutit öppet")
            system = await vis.line("system")
            assert system["key"] == "supervisor_joined"
            await expect(panel.locator(".log")).to_contain_text("En handledare har anslutit")
            await joined.locator("textarea").first.fill("Hej, jag är Sara, handledare.")
            await joined.get_by_role("button", name="Skicka").click()
            assert (await vis.line("volunteer"))["name"] == "Sara"
            await spage.screenshot(path=str(ARTIFACTS / f"console-supervisor-{pair}.png"), full_page=True)

            # End, then the wrap-up (fixed choices only) before the next chat.
            await panel.get_by_role("button", name="Avsluta chatten").click()
            assert (await vis.expect("ended"))["by"] == "volunteer"
            form = panel.locator("form.wrapup")
            await expect(form).to_be_visible()
            assert await form.locator("textarea, input[type=text]").count() == 0
            await form.get_by_label("utsatt").check()
            await form.get_by_label("psykiskt").check()
            await form.get_by_label("digitalt").check()
            await vpage.screenshot(path=str(ARTIFACTS / f"console-wrapup-{pair}.png"), full_page=True)
            await form.get_by_role("button", name="Spara efterarbetet").click()
            await expect(vpage.locator("article.chat")).to_have_count(0)
            await expect(spage.locator("article.chat")).to_have_count(0, timeout=10000)

            # 200 % zoom: the page still fits and works.
            await vpage.evaluate("document.body.style.zoom = '200%'")
            await vpage.screenshot(path=str(ARTIFACTS / f"console-zoom-{pair}.png"))
            await expect(vpage.locator("#logout")).to_be_visible()
            await vpage.locator("#logout").click()
            await vpage.wait_for_url("**/login")
            await sctx.close()
            await vctx.close()
        finally:
            await browser.close()

    for _ in range(100):
        async with server.app.state.db() as session:
            rows = list((await session.scalars(select(ChatRecord))).all())
        if rows:
            break
        await asyncio.sleep(0.05)
    [row] = rows
    assert (row.topic, row.v_psychological, row.v_digital, row.age) == ("exposed", True, True, 16)
    from referral.models import RecordReferral

    async with server.app.state.db() as session:
        referred = list((await session.scalars(select(RecordReferral))).all())
    assert [(r.record_id, r.service_id) for r in referred] == [(row.id, card["id"])]
