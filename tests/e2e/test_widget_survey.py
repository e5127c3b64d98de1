"""The survey after the chat, in real headless Chromium against the real server.

A whole chat ends with the three questions (answered with one tap each, or
skipped at once), nothing is kept in the browser, and the answers land beside
the chat's record; a quick exit shows none and issues no token; embedded on
another site the answer crosses CORS. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from referral.record import ChatRecord
from referral.survey import SurveyResponse, SurveyToken
from tests.conftest import Running, make_settings, start_server
from tests.e2e.test_widget import (EXIT_URL, browser, serve_host_page_later, server, volunteer_takes,  # noqa: F401
                                   watched)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def rows(server: Running, model: type) -> list:  # type: ignore[type-arg]
    async with server.app.state.db() as session:
        return list((await session.scalars(select(model))).all())


async def wait_rows(server: Running, model: type, n: int) -> list:  # type: ignore[type-arg]
    for _ in range(100):
        found = await rows(server, model)
        if len(found) >= n:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {n} rows of {model.__name__}")


async def test_a_whole_chat_ends_with_the_survey(browser: Browser, server: Running) -> None:
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    vol, assigned = await volunteer_takes(server)
    chat = assigned["chat"]
    await page.get_by_label("Skriv ett meddelande").fill("tack för hjälpen")
    await page.get_by_label("Skriv ett meddelande").press("Enter")
    await vol.line("visitor")
    await vol.send({"type": "end", "chat": chat})
    await expect(page.get_by_text("Volontären avslutade chatten.")).to_be_visible()

    await expect(page.get_by_text("Vill du svara på tre snabba frågor?")).to_be_visible()
    await expect(page.get_by_text("Fråga 1 av 3")).to_be_visible()
    await expect(page.get_by_text("Kändes samtalet till hjälp?")).to_be_visible()
    await expect(page.get_by_role("button", name="Ja")).to_be_focused()
    await expect(page.get_by_role("button", name="Hoppa över")).to_be_visible()
    assert await w.axe() == []
    await w.shot("survey")
    await page.get_by_role("button", name="Delvis").click()
    await expect(page.get_by_text("Vet du var du kan vända dig nu?")).to_be_visible()
    await page.get_by_role("button", name="Ja").click()
    await expect(page.get_by_text("Skulle du chatta med oss igen?")).to_be_visible()
    await page.get_by_role("button", name="Vet inte").click()
    await expect(page.get_by_role("status").filter(has_text="Tack! Dina svar hjälper oss")).to_be_visible()
    await w.shot("survey-thanks")
    kept = await page.evaluate("[sessionStorage.length, localStorage.length, document.cookie]")
    assert kept == [0, 0, ""]

    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed", "violence": []}})
    await vol.expect("wrapup_saved")
    [record] = await wait_rows(server, ChatRecord, 1)
    [answer] = await wait_rows(server, SurveyResponse, 1)
    assert record.survey_offered and answer.record_id == record.id
    assert (answer.helped, answer.knows_where_to_turn, answer.would_return) == ("partly", "yes", "unsure")
    assert w.foreign == []
    await w.context.close()


async def test_the_survey_is_skipped_at_once(browser: Browser, server: Running) -> None:
    w = await watched(browser, server)
    page = w.page
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    vol, assigned = await volunteer_takes(server)
    await page.get_by_role("button", name="Avsluta chatten").click()
    await expect(page.get_by_text("Du avslutade chatten.")).to_be_visible()
    await page.get_by_role("button", name="Hoppa över").click()
    await expect(page.get_by_text("Kändes samtalet till hjälp?")).to_be_hidden()
    await expect(page.get_by_text("Tack! Dina svar")).to_be_hidden()
    await expect(page.get_by_role("button", name="Starta en ny chatt")).to_be_visible()
    await asyncio.sleep(0.3)
    assert await rows(server, SurveyResponse) == []
    [token] = await rows(server, SurveyToken)
    assert not token.used                       # nothing was sent
    await w.context.close()


async def test_quick_exit_shows_no_survey_and_issues_no_token(browser: Browser, server: Running) -> None:
    w = await watched(browser, server)
    page = w.page
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    vol, assigned = await volunteer_takes(server)
    await page.get_by_role("button", name="Lämna sidan snabbt").click(no_wait_after=True)
    await page.wait_for_url(EXIT_URL)
    assert (await vol.expect("ended"))["by"] == "visitor"
    await vol.send({"type": "wrapup", "chat": assigned["chat"], "report": {"topic": "exposed", "violence": []}})
    await vol.expect("wrapup_saved")
    [record] = await wait_rows(server, ChatRecord, 1)
    assert not record.survey_offered
    assert await rows(server, SurveyToken) == []
    await w.context.close()


async def test_embedded_on_an_allowed_site_the_answer_crosses_cors(browser: Browser, tmp_path: Path) -> None:
    holder: dict[str, str] = {}
    site, origin = await serve_host_page_later(holder)
    running, stop = await start_server(make_settings(tmp_path, allowed_origins=origin))
    holder["body"] = (f'<!doctype html><html lang="en"><title>Stiftelsen</title><h1>Stiftelsen</h1>'
                      f'<script src="{running.http}/static/widget.js" defer data-lang="en" '
                      f'data-exit-url="{EXIT_URL}"></script>')
    try:
        w = await watched(browser, running, host=origin)
        page = w.page
        await page.goto(origin + "/")
        await page.get_by_role("button", name="Chat anonymously").click()
        await page.get_by_role("button", name="Start the chat").click()
        vol, assigned = await volunteer_takes(running)
        await vol.send({"type": "end", "chat": assigned["chat"]})
        await expect(page.get_by_text("Did the chat help you?")).to_be_visible()
        await page.get_by_role("button", name="Yes").click()
        await expect(page.get_by_text("Question 2 of 3")).to_be_visible()
        await page.get_by_role("button", name="Skip").click()
        await expect(page.get_by_text("Thank you! Your answers help us do better.")).to_be_visible()
        [answer] = await wait_rows(running, SurveyResponse, 1)
        assert (answer.helped, answer.knows_where_to_turn, answer.would_return) == ("yes", None, None)
        assert await w.context.cookies() == [] and w.foreign == []
        await w.shot("survey-embedded")
        await w.context.close()
    finally:
        await stop()
        site.close()
