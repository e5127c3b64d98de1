"""Signed-in volunteers for the benchmarks, made directly in the database.

A bench needs many consoles signed in at once and again every round; logging in
over HTTP would measure Argon2id and TOTP (and a TOTP code may be used once per
30 s step). So the accounts are created with their second factor already set up
(as ``jourchatt volunteer add`` followed by enrolment would leave them) and a
login session is started for each; the benches hand the cookies to the consoles.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Mapping

PASSWORD = "bench password long enough"


async def _volunteers(env: Mapping[str, str], work: Path, n: int, prefix: str,
                      skilled: int = 0) -> list[str]:
    from chat.kernel import db
    from chat.kernel.settings import Settings
    from volunteer import manage, sessions, totp
    from volunteer.accounts import create_account

    settings = Settings.from_env(environ={"JOURCHATT_VAR_DIR": str(work / "var"), **env}, dotenv=False)
    await db.upgrade_async(settings.database_url)
    engine = db.create_engine(settings.database_url)
    maker = db.sessionmaker(engine)
    box = totp.SecretBox(settings.secret)
    cookies = []
    try:
        for i in range(n):
            account = await create_account(maker, username=f"{prefix}{i}", display_name=f"V{i}",
                                           password=PASSWORD, trained=True, today=date.today(),
                                           skills=("uses_violence",) if i < skilled else ())
            await manage.enrol_directly(maker, box, account.username, totp.new_secret())
            cookies.append("jourchatt_session=" + await sessions.start(maker, account.id))
    finally:
        await engine.dispose()
    return cookies


def volunteers(env: Mapping[str, str], work: Path, n: int, prefix: str = "v") -> list[str]:
    """``n`` trained volunteers with a second factor and a session each; their Cookie headers.

    ``env`` and ``work`` are the server's environment and working directory, so the
    database and (on the embedded defaults) the secret under ``work/var`` are the ones
    the server will use.
    """
    env = {k: v for k, v in env.items() if k.startswith("JOURCHATT_")}
    return asyncio.run(_volunteers(env, work, n, prefix))


async def volunteers_async(env: Mapping[str, str], work: Path, n: int, prefix: str = "v",
                           skilled: int = 0) -> list[str]:
    """As ``volunteers``; the first ``skilled`` hold the skill ``uses_violence`` (topic routing)."""
    env = {k: v for k, v in env.items() if k.startswith("JOURCHATT_")}
    return await _volunteers(env, work, n, prefix, skilled)
