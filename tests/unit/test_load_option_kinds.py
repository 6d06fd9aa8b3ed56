"""An option given a value of another kind than the bundled one, where either side is a mapping, or a value YAML
reads as no JSON kind: one problem naming both kinds, never a traceback of validate."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.scenario.load import load_catalog
from mockserver.scenario.read import ScenarioError


def _told(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_catalog([path])
    assert {p.file for p in caught.value.problems} == {str(path)}
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_a_scalar_where_the_bundled_option_is_a_mapping_and_a_mapping_where_it_is_a_number_are_kind_problems(
        tmp_path):
    """`integration_codes: 5` (bundled: a mapping of codes) and `max_get_bytes: {a: 1}` (bundled: 8192): each is
    told as the kind it is and the kind the option takes, at its own line; the mapping's keys are not walked."""
    found = _told(tmp_path, "api: dcs\noptions:\n  integration_codes: 5\n  max_get_bytes: {a: 1}\n"
                            "  global_device_ids: abc\n")
    assert found == [
        (3, "options.integration_codes",
         "a number where the option takes a mapping (as {'DSID_20914': 20914, 'DSID_20915': 20915})"),
        (4, "options.max_get_bytes", "a mapping where the option takes a number (as 8192)"),
        (5, "options.global_device_ids", found[2][2]),
    ]
    assert found[2][2].startswith("text where the option takes a mapping (as {'20915': ")


def test_validate_tells_a_partners_list_given_as_a_number_and_exits_1(tmp_path):
    """DCS's `partners: 5`: the loader's kind, not the module's default_partner message, and not a traceback."""
    path = tmp_path / "dcs.yaml"
    path.write_text("api: dcs\noptions:\n  partners: 5\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception  # not a traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"{path}:3: options.partners: a number where the option takes a mapping (as "
                               "{'partner': {'id': 1352"), lines[0]


def test_a_value_yaml_reads_as_no_json_kind_is_named_by_its_type(tmp_path):
    """`!!binary` is bytes to YAML: neither text nor a number. It is named as what it is, not as null."""
    found = _told(tmp_path, "api: dcs\noptions:\n  org_id_pattern: !!binary aGk=\n")
    assert found == [(3, "options.org_id_pattern",
                      "bytes where the option takes text (as '[0-9A-Fa-f]{24}@AdobeOrg')")]
