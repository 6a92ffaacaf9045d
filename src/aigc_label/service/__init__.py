"""HTTP service and web page over the library (``aigc-label serve``).

Routes only parse, call one library function and render; errors map to HTTP
statuses in one place (:mod:`.errors`).
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
