"""What the dispatcher and the admin routes share: settings, catalog, state, clock, journal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mockserver.engine.clock import Clock
from mockserver.engine.state import CLOCK_KEY, GLOBAL, StateStore, open_store
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
            self.state = open_store(self.settings.state, self.clock, self.settings.max_sessions)
        if self.journal is None:
            if self.state.shared:  # every worker and replica records into, and reads, the same journal
                from mockserver.shared_journal import SharedJournal

                self.journal = SharedJournal(self.settings.state, self.settings.journal_size, self.settings.journal)
            else:
                self.journal = Journal(self.settings.journal_size, self.settings.journal, self.settings.max_sessions)

    def reload(self) -> Catalog:
        """Load the scenario files again; on a problem raises ScenarioError and keeps the old catalog."""
        catalog = load_catalog(self.settings.scenario_paths)
        self.catalog = catalog
        return catalog

    async def sync_clock(self) -> None:
        """With a shared store, take the clock other processes may have moved."""
        if self.state.shared:
            self.clock.load(await self.state.get(GLOBAL, CLOCK_KEY))

    async def change_clock(self, change: Callable[[Clock], object]) -> None:
        """Move the clock; with a shared store atomically (compare-and-set), so every process agrees."""
        if not self.state.shared:
            change(self.clock)
            return
        while True:
            current = await self.state.get(GLOBAL, CLOCK_KEY)
            self.clock.load(current)
            change(self.clock)
            if await self.state.compare_and_set(GLOBAL, CLOCK_KEY, current, self.clock.state()):
                return
