"""The widget's topic question in real Chromium: asked in plain words, skippable, in Swedish
and English, and it steers the chat to a volunteer trained for the topic (issue 18)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import Running
from tests.e2e.test_widget import browser, server, watched  # noqa: F401  (fixtures)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SV_ANSWERS = ["Någon gör mig illa", "Jag gör någon illa, eller är rädd att jag gör det", "Båda delarna",
              "Jag är orolig för någon", "Något annat"]
EN_ANSWERS = ["Someone is hurting me", "I hurt someone, or I'm afraid I do", "Both",
              "I'm worried about someone", "Something else"]


async def test_the_topic_question_reaches_the_specialist(browser: Browser, server: Running) -> None:  # noqa: F811
    await server.add_account("anna")
    await server.add_account("sara", skills=("uses_violence",))
    anna = await server.volunteer("anna")              # idle the longest
    sara = await server.volunteer("sara")
    w = await watched(browser, server, bypass_csp=True)    # for axe-core only
    page = w.page
    await w.open_widget()
    question = page.get_by_role("group", name="Vad vill du prata om?")
    await expect(question).to_be_visible()
    for answer in SV_ANSWERS + ["Vill inte svara"]:
        await expect(question.get_by_role("radio", name=answer, exact=True)).to_be_visible()
    await expect(question.get_by_role("radio", name="Vill inte svara")).to_be_checked()   # skippable
    assert await w.axe() == []
    await question.get_by_role("radio", name=SV_ANSWERS[1]).check()
    await w.shot("topic")
    await page.get_by_role("button", name="Starta chatten").click()
    assigned = await sara.expect("assigned")
    assert assigned["intake"] == {"topic": "uses_violence"}
    await expect(page.get_by_text("Du pratar med Sara.")).to_be_visible()
    await anna.none_of("assigned")
    assert w.foreign == []
    await w.context.close()


async def test_skipping_the_question_sends_no_topic_and_english_reads_plainly(
        browser: Browser, server: Running) -> None:  # noqa: F811
    await server.add_account("anna")
    anna = await server.volunteer("anna")
    w = await watched(browser, server, bypass_csp=True)    # for axe-core only
    page = w.page
    await w.open_widget()
    await page.get_by_label("Språk").select_option("en")        # the language switch (issue 21)
    question = page.get_by_role("group", name="What do you want to talk about?")
    for answer in EN_ANSWERS + ["Prefer not to say"]:
        await expect(question.get_by_role("radio", name=answer, exact=True)).to_be_visible()
    assert await w.axe() == []
    await page.get_by_role("button", name="Start the chat").click()
    assigned = await anna.expect("assigned")
    assert "topic" not in assigned["intake"]
    assert w.foreign == []
    await w.context.close()
