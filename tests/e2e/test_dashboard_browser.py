"""The coordinators' dashboard in real headless Chromium (Debian's, driven by playwright).

Records of the worked example in, a coordinator signs in, picks a period and a
partnership, reads the tables and charts, downloads the CSV. A screenshot is
left in test-artifacts/dashboard.png.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import AsyncIterator

import pytest
from playwright.async_api import async_playwright

from referral.stats import partnership_store, partnerships, records_io
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Running, make_settings, start_server
from tests.worked_example import jsonl
from volunteer.audit import entries

ROOT = Path(__file__).resolve().parents[2]
ARGS = CHROMIUM_ARGS
SAMPLE = ROOT / "referral" / "stats" / "data" / "partnerships.sample.json"


@pytest.fixture
async def stats_server(tmp_path: Path) -> AsyncIterator[Running]:
    running, stop = await start_server(make_settings(tmp_path))
    try:
        recs, refs = records_io.parse(jsonl().splitlines(), today=date(2026, 11, 23))
        await records_io.write(running.app.state.engine, recs, refs)
        for doc in json.loads(SAMPLE.read_text()):
            await partnership_store.save(running.app.state.db, partnerships.validate(doc))
        await running.add_account("cora", role="coordinator")
        yield running
    finally:
        await stop()


async def test_dashboard_pick_period_and_partnership_read_charts_and_download_csv(stats_server: Running) -> None:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium ('python3 dev.py test' does as root)")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1600})
            page = await context.new_page()
            # a 401 before signing in and the absent favicon are expected; a CSP refusal is not
            page.on("console", lambda m: problems.append(m.text)
                    if m.type == "error" and "Failed to load resource" not in m.text else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            r = await page.goto(f"{stats_server.http}/stats")
            assert r is not None and r.status == 401
            assert "Logga in" in await page.inner_text("body")
            login = await context.request.post(f"{stats_server.http}/api/login",
                                               data={"username": "cora", "password": PASSWORD,
                                                     "otp": await stats_server.code("cora")},
                                               headers={"X-Jourchatt-CSRF": "1"})
            assert login.ok

            await page.goto(f"{stats_server.http}/stats?preset=2022H1")
            assert "Alla chattar" in await page.inner_text("#period")
            # pick the Stockholm partnership and January–May 2022 in the form
            await page.select_option("#preset", "")
            await page.fill("#from", "2022-01-01")
            await page.fill("#to", "2022-05-31")
            await page.select_option("#partnership", "stockholm-unga-relationer")
            await page.click("#picker button[type=submit]")
            await page.wait_for_url("**partnership=stockholm-unga-relationer**")
            period = await page.inner_text("#period")
            assert "Förebygga våld" in period and "2022-01-01" in period and "2021-01-01" in period

            gender = await page.inner_text("#t-gender")
            assert "151" in gender and "35" in gender and "42" in gender
            topic = await page.inner_text("#t-topic")
            assert "152" in topic and "13" in topic
            summary = await page.inner_text("#t-summary")
            assert "228" in summary and "17,1 år" in summary and "150" in summary   # and a year earlier
            for chart in ("chart-weeks", "chart-gender", "chart-topic", "chart-yoy"):
                assert await page.locator(f"#{chart} rect").count() > 0, chart
            assert await page.locator("#chart-weeks rect").count() >= 21          # one column per week

            async with page.expect_download() as info:
                await page.click("#csv")
            download = await info.value
            csv_text = Path(await download.path()).read_text()
            assert "total,,228,150" in csv_text.replace("\r", "")
            await page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
        finally:
            await browser.close()
    assert problems == []      # no script error, no Content-Security-Policy violation
    audit = [(a.action, a.subject) for a in await entries(stats_server.app.state.db)]
    assert audit == [("stats.export", "stockholm-unga-relationer")]
