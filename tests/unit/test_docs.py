"""The docs list every setting and every error code a client can receive."""

from __future__ import annotations

import re
from pathlib import Path

from chat.settings import SETTINGS_HELP

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in SETTINGS_HELP if f"`{name}`" not in doc]
    assert missing == []


def test_every_error_code_in_the_code_is_documented() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text()
    codes: set[str] = set()
    for path in [*ROOT.glob("chat/*.py"), *ROOT.glob("chat/live/*.py"), *ROOT.glob("volunteer/*.py"),
                 *ROOT.glob("referral/**/*.py")]:
        src = path.read_text()
        codes |= set(re.findall(r'error\(\s*\d{3},\s*"([a-z_]+)"', src))
        codes |= set(re.findall(r'"error":\s*"([a-z_]+)"', src))
        codes |= set(re.findall(r'^\s+code = "([a-z_]+)"', src, re.M))
        codes |= set(re.findall(r'FrameError\(\s*"([a-z_]+)"', src))
        codes |= set(re.findall(r'"code":\s*"([a-z_]+)"', src))
        codes |= set(re.findall(r'\(\s*"([a-z_]+)",\s*44\d\d\)', src))
    assert len(codes) > 15
    missing = sorted(c for c in codes if f"`{c}`" not in doc)
    assert missing == []
