"""Volunteers' skills (contract "Topic and specialists"): the CLI (`volunteer add --skill`,
`volunteer skills USERNAME [SKILL…]`, `volunteer list`) and the admin API, each audited;
a skill outside the topic and violence vocabularies is refused with the field named."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from chat.cli import main as cli_main
from volunteer.audit import entries

from ..conftest import Running


def test_cli_add_with_skills_set_clear_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("JOURCHATT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("JOURCHATT_LOG_LEVEL", "warning")
    monkeypatch.setattr("sys.stdin", io.StringIO("ett långt lösenord\n"))
    assert cli_main(["volunteer", "add", "sara", "--display-name", "Sara", "--skill", "uses_violence",
                     "--skill", "honour", "--trained", "--password-stdin"]) == 0
    capsys.readouterr()
    assert cli_main(["volunteer", "list"]) == 0
    listed = capsys.readouterr().out
    assert "skills" in listed.splitlines()[0]
    assert "honour,uses_violence" in listed
    assert cli_main(["volunteer", "skills", "sara", "sexual", "uses_violence"]) == 0
    assert capsys.readouterr().out.strip() == "skills of sara: sexual, uses_violence"
    assert cli_main(["volunteer", "skills", "sara", "juggling"]) == 1
    assert "'juggling' is not a skill" in capsys.readouterr().err
    assert cli_main(["volunteer", "skills", "sara"]) == 0                 # none clears them
    assert capsys.readouterr().out.strip() == "skills of sara: none"
    assert cli_main(["volunteer", "list"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sara")][0]
    assert row.rstrip().endswith("-")
    monkeypatch.setattr("sys.stdin", io.StringIO("ett långt lösenord\n"))
    assert cli_main(["volunteer", "add", "bo", "--display-name", "Bo", "--skill", "nope",
                     "--password-stdin"]) == 1


async def test_admin_sets_skills_and_the_console_routes_by_them(server: Running) -> None:
    await server.add_account("sara")
    admin = await server.client("ada", role="admin")
    async with admin:
        r = await admin.post("/api/admin/accounts/sara/skills", json={"skills": ["uses_violence", "honour"]})
        assert r.status_code == 200, r.text
        assert r.json()["account"]["skills"] == ["honour", "uses_violence"]
        listed = (await admin.get("/api/admin/accounts")).json()["accounts"]
        assert [a["skills"] for a in listed if a["username"] == "sara"] == [["honour", "uses_violence"]]
        bad = await admin.post("/api/admin/accounts/sara/skills", json={"skills": ["juggling"]})
        assert bad.status_code == 400 and bad.json()["detail"].startswith("skills:")
        bad = await admin.post("/api/admin/accounts/sara/skills", json={"skills": "uses_violence"})
        assert bad.status_code == 400 and bad.json()["detail"].startswith("skills:")
        missing = await admin.post("/api/admin/accounts/nobody/skills", json={"skills": []})
        assert missing.status_code == 404
    volunteer = await server.client("vera")
    async with volunteer:
        r = await volunteer.post("/api/admin/accounts/sara/skills", json={"skills": []})
        assert r.status_code == 403
    assert "account.skills" in [e.action for e in await entries(server.app.state.db)]
    await server.add_account("anna")
    await server.volunteer("anna")
    sara = await server.volunteer("sara")
    vis = await server.visitor({"lang": "sv", "topic": "uses_violence"})
    assert (await vis.expect("assigned"))["volunteer"] == "Sara"
    await sara.expect("assigned")


async def test_new_skills_apply_to_an_open_console_at_once(server: Running) -> None:
    await server.add_account("anna")
    await server.add_account("sara")
    await server.volunteer("anna")
    sara = await server.volunteer("sara")           # connected without skills
    admin = await server.client("ada", role="admin")
    async with admin:
        r = await admin.post("/api/admin/accounts/sara/skills", json={"skills": ["uses_violence"]})
        assert r.status_code == 200
    vis = await server.visitor({"lang": "sv", "topic": "uses_violence"})
    assert (await vis.expect("assigned"))["volunteer"] == "Sara"
    await sara.expect("assigned")
