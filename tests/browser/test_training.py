"""Trainees and practice chats in real headless Chromium, on both pairs: a trainee asks to
follow Anna's chat, Anna lets her in from her console, the trainee reads along and whispers,
and the young person (a websockets client) hears of none of it; then Sara opens a practice
chat that the trainee answers in her own console, as a real chat, wrap-up included, and no
record is written. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio

from playwright.async_api import async_playwright, expect
from sqlalchemy import func, select

from referral.record import ChatRecord

from ..conftest import CHROMIUM, CHROMIUM_ARGS, Running
from ..integration.test_supervision import drain
from .test_console import ARTIFACTS, signed_in


async def test_a_trainee_shadows_a_chat_and_answers_a_practice_chat(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    await server.add_account("anna", display_name="Anna")
    await server.add_account("sara", role="supervisor", display_name="Sara")
    await server.add_account("tove", role="trainee", trained=False, display_name="Tove")
    await server.add_account("adam", role="admin", display_name="Adam")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            vctx, vpage = await signed_in(browser, server, "anna", {"width": 1280, "height": 900})
            await vpage.goto(f"{server.http}/console")
            status = vpage.locator("#status")
            await expect(status).to_be_enabled()
            await status.click()
            await expect(status).to_have_attribute("aria-pressed", "true")
            vis = await server.visitor({"lang": "sv"})
            await vis.expect("welcome")
            await vis.expect("assigned")
            await vis.send({"type": "message", "id": "v1", "text": "hej, jag vill prata"})
            panel = vpage.locator("article.chat").first
            await expect(panel.locator(".log")).to_contain_text("hej, jag vill prata")

            # The trainee: no status button, a list of chats to follow.
            tctx, tpage = await signed_in(browser, server, "tove", {"width": 1280, "height": 900})
            await tpage.goto(f"{server.http}/console")
            await expect(tpage.locator("#training")).to_contain_text("Du är praktikant")
            await expect(tpage.locator("#status")).to_be_hidden()
            follow = tpage.locator("#follow-list li", has_text="Anna")
            await follow.get_by_role("button", name="Be att få följa").click()
            await expect(tpage.locator("#notice")).to_contain_text("Frågan är skickad")
            # Anna is asked in her chat's panel, and says yes.
            ask = panel.locator(".ask")
            await expect(ask).to_contain_text("Tove (praktikant) vill följa chatten")
            await ask.get_by_role("button", name="Tillåt").click()
            await expect(panel).to_contain_text("Praktikant följer: Tove")
            followed = tpage.locator("article.chat.observe")
            await expect(followed.locator(".log")).to_contain_text("hej, jag vill prata")
            await followed.locator("textarea").first.fill("Fråga om hen är trygg hemma")
            await followed.get_by_role("button", name="Viska").click()
            await expect(panel.locator(".log li.whisper")).to_contain_text("Fråga om hen är trygg hemma")
            await vis.send({"type": "message", "id": "v2", "text": "det är jobbigt hemma"})
            await expect(followed.locator(".log")).to_contain_text("det är jobbigt hemma")
            await tpage.screenshot(path=str(ARTIFACTS / f"console-trainee-shadowing-{pair}.png"), full_page=True)
            await vpage.screenshot(path=str(ARTIFACTS / f"console-volunteer-shadowed-{pair}.png"), full_page=True)
            heard = str(await drain(vis, 0.5)).lower()
            for word in ("tove", "trainee", "praktikant", "viska", "whisper", "trygg hemma"):
                assert word not in heard, word
            # Anna asks the trainee to stop following; the trainee's panel goes.
            await panel.get_by_role("button", name="Be praktikanten sluta följa").click()
            await expect(followed).to_have_count(0)
            await expect(tpage.locator("#notice")).to_contain_text("Volontären bad dig sluta följa")
            await expect(panel).not_to_contain_text("Praktikant följer")
            # Asked again and let in, the trainee stops by herself.
            await tpage.locator("#follow-list li", has_text="Anna").get_by_role("button", name="Be att få följa").click()
            await panel.locator(".ask").get_by_role("button", name="Tillåt").click()
            await expect(followed).to_have_count(1)
            await followed.get_by_role("button", name="Sluta följa").click()
            await expect(followed).to_have_count(0)
            await expect(panel).not_to_contain_text("Praktikant följer")
            await expect(panel.locator(".follower")).to_have_count(0)

            # Sara opens a practice chat that Tove answers.
            sctx, spage = await signed_in(browser, server, "sara", {"width": 1280, "height": 900})
            await spage.goto(f"{server.http}/console")
            await expect(spage.locator("#status")).to_be_enabled()
            training = spage.locator("#training")
            await training.get_by_role("button", name="Hämta vilka som är inloggade").click()
            await expect(spage.locator("#practice-partner option", has_text="Tove")).to_have_count(1)
            await spage.locator("#practice-partner").select_option(label="Tove (praktikant)")
            await training.get_by_role("button", name="Öppna övningschatten").click()
            player = spage.locator("article.chat.practice")
            await expect(player).to_contain_text("Svarar: Tove")
            await player.get_by_label("Skriv som den unga").fill("jag vet inte vad jag ska göra")
            await player.get_by_label("Skriv som den unga").press("Enter")
            answer = tpage.locator("article.chat", has_text="Övning – spelas av Sara")
            await expect(answer.locator(".log")).to_contain_text("jag vet inte vad jag ska göra")
            await expect(answer.get_by_role("button", name="Be handledare om hjälp")).to_have_count(0)
            box = answer.locator("textarea").first
            await box.fill("Jag finns här. Berätta mer.")
            await box.press("Enter")
            await expect(player.locator(".log")).to_contain_text("Jag finns här. Berätta mer.")
            # The shift overview tells the practice chat and the trainee apart.
            await spage.locator("#supervise").check()
            await expect(spage.locator("#overview")).to_contain_text("övningschatt")
            await expect(spage.locator("#overview")).to_contain_text("Tove (praktikant)")
            await spage.locator("#supervise").uncheck()
            await spage.screenshot(path=str(ARTIFACTS / f"console-practice-player-{pair}.png"), full_page=True)
            await tpage.screenshot(path=str(ARTIFACTS / f"console-practice-answer-{pair}.png"), full_page=True)
            # The trainee ends it and files the wrap-up, as after a real chat.
            await answer.get_by_role("button", name="Avsluta chatten").click()
            await expect(player).to_contain_text("Chatten är avslutad")
            form = answer.locator("form.wrapup")
            await expect(form).to_be_visible()
            await form.get_by_label("utsatt").check()
            await form.get_by_role("button", name="Spara efterarbetet").click()
            await expect(tpage.locator("article.chat", has_text="Övning")).to_have_count(0)

            # Sara marks today's shift as shadowed; an admin sees it in Tove's training record.
            trainee_row = spage.locator("#trainee-list li", has_text="Tove")
            await expect(trainee_row).to_contain_text("0 av 2 pass")
            await trainee_row.get_by_role("button", name="Markera dagens pass").click()
            await expect(spage.locator("#trainee-list li", has_text="Tove")).to_contain_text("1 av 2 pass")
            actx, apage = await signed_in(browser, server, "adam", {"width": 1280, "height": 900})
            await apage.goto(f"{server.http}/admin")
            row = apage.locator("#rows tr", has_text="tove")
            await expect(row).to_contain_text("Följda pass: 1 av 2")
            await row.locator("details.shifts summary").click()
            await expect(row).to_contain_text("markerat av Sara")
            await apage.screenshot(path=str(ARTIFACTS / f"admin-training-record-{pair}.png"), full_page=True)
            # Made a volunteer with one shift of two: the admin is asked knowingly (signed_in accepts).
            async with apage.expect_event("dialog") as asked:
                await row.get_by_label("Roll för tove").select_option("volunteer")
            question = (await asked.value).message
            assert "följt 1 av 2 pass" in question and "ändå" in question, question
            await expect(apage.locator("#notice")).to_contain_text("tove har nu rollen Volontär")
            await actx.close()
            await tctx.close()
            await sctx.close()
            await vctx.close()
        finally:
            await browser.close()
    await asyncio.sleep(0.5)
    async with server.app.state.db() as session:
        assert await session.scalar(select(func.count()).select_from(ChatRecord)) == 0   # the practice left none
