"""mockserver: a fake HTTP server that reproduces the documented failures of five real APIs."""

from __future__ import annotations

__version__ = "0.1.0"
