"""Import target for server worker processes (hypercorn --workers): the app from the parent's settings."""

from __future__ import annotations

from mockserver.app import app_from_environment

app = app_from_environment()
