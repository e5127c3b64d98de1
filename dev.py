#!/usr/bin/env python3
"""Set up and run jourchatt with nothing but Python 3.11+.

    python3 dev.py serve [--host H] [--port P]   set up .venv, then start the server
    python3 dev.py test [pytest args]            set up .venv with test tools, then run every test

The virtual environment lives in .venv and is refreshed whenever pyproject.toml
changes. Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"jourchatt needs Python 3.11 or newer, not {sys.version.split()[0]}")
    stamp = VENV / ".jourchatt-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = f".[{extras}]" if extras else "."
    print(f"installing jourchatt{'[' + extras + ']' if extras else ''} into .venv ...", flush=True)
    subprocess.run([str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-e", spec], cwd=ROOT, check=True)
    stamp.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__.strip())
        return 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        ensure_venv("")
        os.execv(str(BIN / "jourchatt"), [str(BIN / "jourchatt"), "serve", *rest])
    ensure_venv("test")
    return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
