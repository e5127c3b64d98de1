"""The referral pages in a real headless Chromium against the real server: the
partner's redeem page and the coordinator's directory editor."""

from __future__ import annotations

import json
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


async def test_a_coordinator_edits_the_directory_in_the_browser(server: Running) -> None:
    await server.add_account("cora", role="coordinator")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" and "Failed to load resource" not in msg.text else None)
            unsafe: list[dict[str, str]] = []
            page.on("request", lambda req: unsafe.append(req.headers) if req.method in ("POST", "PUT") else None)
            await page.goto(f"{server.http}/referrals/directory")
            await page.fill("#username", "cora")
            await page.fill("#password", PASSWORD)
            await page.fill("#otp", await server.code("cora"))
            await page.click("#login button[type=submit]")
            await page.click("#services button[data-id=umo]")
            body = json.loads(await page.input_value("#body"))
            assert body["id"] == "umo"

            body["eligibility"] = [{"min_age": 30, "max_age": 20}]
            await page.fill("#body", json.dumps(body))
            await page.click("#entry button[type=submit]")
            await expect(page.locator("#status")).to_have_attribute("data-result", "invalid_directory")
            await expect(page.locator("#errors")).to_contain_text(
                "eligibility[0]: min_age 30 is above max_age 20")

            body["eligibility"] = [{"min_age": 12, "max_age": 25}]
            body["name"] = "UMO, ungdomsmottagning på nätet"
            await page.fill("#body", json.dumps(body))
            await page.click("#entry button[type=submit]")
            await expect(page.locator("#status")).to_have_attribute("data-result", "saved")
            await expect(page.locator("#services")).to_contain_text("UMO, ungdomsmottagning på nätet")
            assert errors == []
        finally:
            await browser.close()
    directory = await server.hub.directory.current()
    umo = directory.get("umo")
    assert umo is not None and umo.name == "UMO, ungdomsmottagning på nätet"
    assert umo.eligibility[0].min_age == 12
    assert unsafe and all(h.get("x-jourchatt-csrf") == "1" for h in unsafe)
