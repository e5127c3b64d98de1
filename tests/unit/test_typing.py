"""chat, referral and volunteer stay clean under ``mypy --strict`` (pyproject.toml's [tool.mypy]).

The test command runs mypy like any other test, so a type error fails the suite the
way a broken assertion does; mypy's own report is the failure message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A cold run checks ~120 modules (~20 s on a busy machine); its cache makes the next one quick.
MYPY_BOUND_S = 600


def test_the_packages_are_clean_under_mypy_strict() -> None:
    config = ROOT / "pyproject.toml"
    assert "[tool.mypy]" in config.read_text(encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=MYPY_BOUND_S)
    report = (done.stdout + done.stderr).strip()
    assert done.returncode == 0, f"mypy --strict found errors:\n{report}"
    assert report.startswith("Success: no issues found in "), report
