"""The one data-file loader: a state adapts the role table (and later pathways, instruments, taxonomies) in
YAML, and a mistake is refused at load with the file, the line and the field it is on."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinfold.access.vocabulary import ROLE_TABLE_PATH, RoleTableError, load_role_table
from kinfold.datafiles import DataFileError, load_data_file


def test_a_mistake_in_the_role_table_names_its_file_line_and_field(tmp_path: Path):
    bad = tmp_path / "role_access.yaml"
    lines = ROLE_TABLE_PATH.read_text(encoding="utf-8").splitlines()
    at = next(i for i, row in enumerate(lines) if row.startswith("  front_desk:"))
    lines[at] = lines[at].replace("default_purpose: operations", "default_purpose: gossip")
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RoleTableError) as caught:
        load_role_table(bad)
    message = str(caught.value)
    assert str(bad) in message
    assert f"line {at + 1}, roles.front_desk.default_purpose" in message
    assert "unknown purpose 'gossip'" in message


def test_a_file_that_is_not_yaml_is_refused_in_plain_words(tmp_path: Path):
    from kinfold.access.vocabulary import RoleTable

    bad = tmp_path / "broken.yaml"
    bad.write_text("roles: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"broken\.yaml: cannot read the test table"):
        load_data_file(bad, RoleTable, what="the test table")
