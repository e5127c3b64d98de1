"""The referral pages in a real headless Chromium against the real server: the
partner's redeem page (the directory editor: tests/browser/test_directory_editor.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect

from referral import codes, store

from ..conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Running

pytestmark = pytest.mark.slow



async def test_a_partner_redeems_a_code_on_the_page(server: Running) -> None:
    db = server.app.state.db
    key = await store.add_partner(db, "stodcentrum", "Stödcentrum", ["stodcentrum"], date.today())
    [issued] = await store.issue_codes(db, server.hub.code_key, ["stodcentrum"], issued_on=date.today(),
                                       valid_days=90)
    code = codes.display(issued.code)
    sent: list[dict[str, Any]] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # refused redemptions log "Failed to load resource" (4xx): expected; a script error or
            # a Content-Security-Policy refusal is not
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" and "Failed to load resource" not in msg.text else None)
            page.on("request", lambda req: sent.append(req.headers) if req.method == "POST" else None)
            await page.goto(f"{server.http}/partner/redeem")
            await expect(page.locator("h1")).to_contain_text("Lös in en hänvisningskod")
            result = page.locator("#result")

            async def submit(k: str, c: str, outcome: str) -> None:
                await page.fill("#key", k)
                await page.fill("#code", c)
                await page.click("button[type=submit]")
                await expect(result).to_have_attribute("data-result", outcome)

            await submit(key, code[:-1] + next(x for x in codes.ALPHABET if x != code[-1]), "invalid_code")
            await expect(result).to_contain_text("felskriven")
            await submit("jcp_not-the-key", code, "invalid_key")
            await submit(key, code.lower().replace("-", " "), "ok")
            await expect(result).to_contain_text("Stödcentrum för unga brottsutsatta och vittnen")
            assert await page.input_value("#code") == ""
            await submit(key, code, "already_redeemed")
            await expect(result).to_contain_text("redan inlöst")
            assert await page.evaluate("localStorage.length + sessionStorage.length + document.cookie.length") == 0
            assert errors == []
        finally:
            await browser.close()
    assert len(sent) == 4
    assert all(h.get("x-jourchatt-csrf") == "1" and h.get("authorization", "").startswith("Bearer ")
               and "cookie" not in h for h in sent)
