"""jourchatt's chat: the Starlette app, the socket endpoints, the live chat, and the
kernel (``chat.kernel``) that referral and volunteer share.

``create_app`` and ``Settings`` are loaded on first use, so that importing the kernel
(``chat.kernel.*``) does not load the app and everything it wires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .kernel.settings import Settings

__all__ = ["Settings", "create_app"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app
        return create_app
    if name == "Settings":
        from .kernel.settings import Settings
        return Settings
    raise AttributeError(f"module 'chat' has no attribute {name!r}")
