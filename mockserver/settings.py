"""One frozen Settings object, built by the CLI from options and MOCKSERVER_* variables."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ServerName = Literal["uvicorn", "hypercorn"]
SERVERS: tuple[ServerName, ...] = ("uvicorn", "hypercorn")
API_NAMES = ("braze", "reactor", "dcs", "edge", "clientless")
SETTINGS_ENV = "MOCKSERVER_SETTINGS_JSON"  # how worker processes receive the parent's settings


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 0
    scenarios: tuple[str, ...] = ()  # the user's files and folders, after the bundled ones
    api: str | None = None  # serve only this API, at /
    server: ServerName = "uvicorn"
    workers: int = 1
    state: str = "memory://"
    log_level: str = "warning"
    journal_size: int = 10_000
    journal: bool = True
    max_sessions: int = 10_000  # sessions a memory:// store holds (least recently used forgotten beyond); 0: all
    access_log: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario_paths(self) -> list[Path]:
        return [Path(p) for p in self.scenarios]

    @property
    def quiet(self) -> bool:
        """--log-level error or critical: the server's errors only, so no start-up or SIGHUP line either."""
        return self.log_level in ("error", "critical")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        data["scenarios"] = tuple(data.get("scenarios", ()))
        return cls(**data)
