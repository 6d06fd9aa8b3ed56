"""Import target for server worker processes (hypercorn --workers): the app from the parent's settings."""

from __future__ import annotations

from mockserver.app import app_from_environment
from mockserver.transports import HypercornConnectionApp, install_hypercorn

install_hypercorn()
app = HypercornConnectionApp(app_from_environment())
