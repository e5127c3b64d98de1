"""jourchatt's chat: the Starlette app, the socket endpoints, the routing queue, the broker."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
__version__ = "0.1.0"
