"""What the dispatcher and the admin routes share: settings, catalog, state, clock, journal."""

from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.engine.clock import Clock
from mockserver.engine.state import MemoryStateStore, StateStore
from mockserver.journal import Journal
from mockserver.scenario.load import load_catalog
from mockserver.scenario.model import Catalog
from mockserver.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    clock: Clock = field(default_factory=Clock)
    state: StateStore = None  # type: ignore[assignment]  # set in __post_init__
    journal: Journal = None  # type: ignore[assignment]
    ready: bool = False

    def __post_init__(self) -> None:
        if self.state is None:
            self.state = MemoryStateStore(self.clock)
        if self.journal is None:
            self.journal = Journal(self.settings.journal_size, self.settings.journal)

    def reload(self) -> Catalog:
        """Load the scenario files again; on a problem raises ScenarioError and keeps the old catalog."""
        catalog = load_catalog(self.settings.scenario_paths)
        self.catalog = catalog
        return catalog
