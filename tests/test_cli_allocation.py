"""`costlake tags ...` and `costlake allocation ...`: rules as code through the CLI, which speaks the REST API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from costlake.allocation.rules import RuleSet
from costlake.cli.main import app
from costlake.months import current_month
from focus_files import focus_row, write_csv

runner = CliRunner()
NOW = current_month()
RULES = """
dimensions:
  - name: team
    rules:
      - coalesce: [team, Team]
        transform: [trim, lower]
      - when: [{dimension: ProviderName, op: eq, values: [Anthropic]}]
        value: ml-platform
"""


def same_rules(text: str, other: str) -> bool:
    return RuleSet.model_validate(yaml.safe_load(text)) == RuleSet.model_validate(yaml.safe_load(other))


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def acme(settings, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    write_csv(tmp_path / "export" / "a.csv", [
        focus_row(NOW, "10.00", Tags=json.dumps({"Team": "Payments "})),
        focus_row(NOW, "30.00", Tags=json.dumps({"team": "search"})),
        focus_row(NOW, "5.00", ProviderName="Anthropic", Tags=""),
    ])
    ok("tenant", "create", "acme")
    source = json.loads(ok("billing-source", "add", "--tenant", "acme", "--provider", "aws", "--source-uri", str(tmp_path / "export")))
    assert json.loads(ok("billing-source", "sync", "--tenant", "acme", source["id"], "--wait"))["status"] == "succeeded"
    return "acme"


def test_rules_as_code_from_file_to_query(acme: str, tmp_path: Path) -> None:
    tags = json.loads(ok("tags", "list", "--tenant", acme, "--output", "json"))["items"]
    assert {item["key"] for item in tags} == {"team", "Team"}
    assert "search" in ok("tags", "values", "--tenant", acme, "team")
    suggestions = json.loads(ok("tags", "suggestions", "--tenant", acme, "--output", "json"))["items"]
    assert [s["variants"] for s in suggestions if s["kind"] == "merge_keys"] == [["team", "Team"]]
    merge = next(s["id"] for s in suggestions if s["kind"] == "merge_keys")
    assert json.loads(ok("tags", "accept", "--tenant", acme, merge))["dimension"] == "team"
    assert yaml.safe_load(ok("allocation", "show", "--tenant", acme))["dimensions"][0]["rules"][0]["coalesce"] == ["team", "Team"]

    (tmp_path / "rules.yaml").write_text(RULES)
    ok("allocation", "apply", "--tenant", acme, "-f", str(tmp_path / "rules.yaml"))
    shown = ok("allocation", "show", "--tenant", acme)
    assert same_rules(shown, RULES)  # what was applied, with every default spelled out: a file to keep in git
    (tmp_path / "shown.yaml").write_text(shown)
    ok("allocation", "apply", "--tenant", acme, "-f", str(tmp_path / "shown.yaml"))
    assert ok("allocation", "show", "--tenant", acme) == shown  # a round trip changes nothing
    preview = json.loads(ok("allocation", "preview", "--tenant", acme, "--output", "json"))
    team = {v["value"]: v["after"] for v in preview["dimensions"][0]["values"]}
    assert team == {"search": {"USD": "30.00"}, "payments": {"USD": "10.00"}, "ml-platform": {"USD": "5.00"}}
    assert "payments" in ok("allocation", "preview", "--tenant", acme)
    assert json.loads(ok("allocation", "publish", "--tenant", acme))["version"] == 1

    result = json.loads(ok("costs", "query", "--tenant", acme, "--group-by", "dim:team", "--granularity", "none", "--output", "json"))
    assert {r["dim:team"]: r["cost"] for r in result["rows"]} == {"search": "30.00", "payments": "10.00", "ml-platform": "5.00"}
    table = ok("costs", "query", "--tenant", acme, "--group-by", "dim:team", "--filter", "dim:team=payments", "--granularity", "none")
    assert "payments" in table and "search" not in table

    ok("allocation", "apply", "--tenant", acme, "-f", str(tmp_path / "rules.yaml"))
    (tmp_path / "v2.json").write_text(json.dumps({"dimensions": [{"name": "team", "rules": [{"coalesce": ["team"]}]}]}))
    ok("allocation", "apply", "--tenant", acme, "-f", str(tmp_path / "v2.json"))
    ok("allocation", "publish", "--tenant", acme)
    versions = json.loads(ok("allocation", "versions", "--tenant", acme, "--output", "json"))["items"]
    assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]
    pinned = json.loads(ok("costs", "query", "--tenant", acme, "--group-by", "dim:team", "--granularity", "none", "--allocation-version", "1", "--output", "json"))
    assert pinned["allocation_version"] == 1 and {r["dim:team"] for r in pinned["rows"]} == {"search", "payments", "ml-platform"}
    assert json.loads(ok("allocation", "restore", "--tenant", acme, "1"))["base_version"] == 1
    assert same_rules(ok("allocation", "show", "--tenant", acme), RULES)
    version_2 = json.loads(ok("allocation", "show", "--tenant", acme, "--version", "2", "--format", "json"))
    assert version_2["dimensions"][0]["rules"][0]["coalesce"] == ["team"]


def test_bad_rules_files_are_one_line_errors_naming_the_field(acme: str, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("dimensions:\n  - name: team\n    rules:\n      - from_dimension: nope\n")
    result = runner.invoke(app, ["allocation", "apply", "--tenant", acme, "-f", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 1 and "dimensions.0.rules.0.from_dimension" in result.stderr and "nope" in result.stderr
    (tmp_path / "broken.yaml").write_text("dimensions: [\n")
    result = runner.invoke(app, ["allocation", "apply", "--tenant", acme, "-f", str(tmp_path / "broken.yaml")])
    assert result.exit_code == 1 and "not valid YAML or JSON" in result.stderr
    unknown = runner.invoke(app, ["costs", "query", "--tenant", acme, "--group-by", "dim:team"])
    assert unknown.exit_code == 1 and "dim:team" in unknown.stderr and "no allocation rules" in unknown.stderr


def test_edit_opens_the_draft_in_the_editor(acme: str, tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(f"import sys, pathlib\npathlib.Path(sys.argv[1]).write_text({RULES!r})\n")
    ok("allocation", "edit", "--tenant", acme, env={"EDITOR": f"{sys.executable} {editor}", "VISUAL": ""})
    assert same_rules(ok("allocation", "show", "--tenant", acme), RULES)
    editor.write_text("import sys, pathlib\npathlib.Path(sys.argv[1]).write_text('dimensions: [{name: 1x}]')\n")
    result = runner.invoke(app, ["allocation", "edit", "--tenant", acme], env={"EDITOR": f"{sys.executable} {editor}", "VISUAL": ""})
    assert result.exit_code == 1 and "your file is kept" in result.stderr and "apply -f" in result.stderr
