"""Configuration docs cannot drift: every Settings field is in .env.example and README's generated table."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from dotenv import dotenv_values

from app.settings import Settings
from tests.deploy.dockerfile import ROOT
from tests.deploy.known_vars import gen_config_docs, settings_vars

ENV_EXAMPLE = ROOT / ".env.example"
SCRIPT = ROOT / "scripts" / "gen_config_docs.py"


def readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- config:start -->(.*?)<!-- config:end -->", text, re.DOTALL)
    assert match, "README.md lost its config markers"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(settings_vars()))
def test_every_setting_is_documented_in_both_places(name: str) -> None:
    assert re.search(rf"^# {name}=", ENV_EXAMPLE.read_text(), re.MULTILINE), f"{name} not in .env.example"
    assert f"| `{name}` |" in readme_table(), f"{name} not in README's configuration table"


def test_generated_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_a_copy_of_env_example_changes_nothing() -> None:
    assert dotenv_values(ENV_EXAMPLE) == {}


def test_example_values_are_accepted_by_settings() -> None:
    lines = re.findall(r"^# ([A-Z_]+)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    values = {name.lower(): value for name, value in lines if name.lower() in Settings.model_fields}
    assert set(values) == set(Settings.model_fields)
    values["bff_env"] = "development"  # the example secrets are placeholders, which production refuses
    Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_an_undocumented_setting_stops_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = gen_config_docs()
    title, group = docs.GROUPS[0]
    trimmed = [(title, {k: v for k, v in group.items() if k != "bff_log_level"}), *docs.GROUPS[1:]]
    monkeypatch.setattr(docs, "GROUPS", trimmed)
    with pytest.raises(docs.DocsError, match="BFF_LOG_LEVEL"):
        docs.settings_docs()
    assert docs.main(["--check"]) == 2


def test_a_stale_file_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = gen_config_docs()
    monkeypatch.setattr(docs, "IMAGE_VARS", {**docs.IMAGE_VARS, "BFF_NEW": docs.Doc("new", default="1")})
    assert docs.main(["--check"]) == 1
