"""Where the cache of files found valid lives: MOCKSERVER_CACHE_DIR, else $XDG_CACHE_HOME/mockserver/valid; none
with MOCKSERVER_NO_CACHE; and a cache that cannot be written never fails a load."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.scenario.load import BUNDLED, load_catalog
from mockserver.scenario.read import scenario_files
from tests.unit.test_load import GOOD


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MOCKSERVER_CACHE_DIR", "MOCKSERVER_NO_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "toy.yaml"
    path.write_text(GOOD)
    return path


def _remembered(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_the_cache_is_the_folder_mockserver_cache_dir_names(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "mine"))
    load_catalog([toy])
    found = _remembered(tmp_path / "mine")
    assert len(found) == len(scenario_files([BUNDLED])) + 1 and all(len(name) == 64 for name in found), found
    assert _remembered(tmp_path / "xdg") == _remembered(tmp_path / "home") == []


def test_without_it_the_cache_is_under_xdg_cache_home(toy, tmp_path):
    load_catalog([toy])
    assert len(_remembered(tmp_path / "xdg" / "mockserver" / "valid")) == len(scenario_files([BUNDLED])) + 1
    assert _remembered(tmp_path / "home") == []


def test_no_cache_writes_nothing(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("MOCKSERVER_NO_CACHE", "1")
    load_catalog([toy])
    assert _remembered(tmp_path / "xdg") == _remembered(tmp_path / "home") == []


def test_a_cache_folder_that_cannot_be_made_never_fails_a_load(toy, tmp_path, monkeypatch):
    (tmp_path / "taken").write_text("a file where the folder would be")
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "taken" / "valid"))
    for _ in range(2):
        assert "toy" in load_catalog([toy]).apis
