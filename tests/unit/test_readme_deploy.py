"""The README's deploy section names only commands that exist: make targets, scripts, `traffic-tool`
subcommands and their options, and the stack outputs it reads."""

from __future__ import annotations

import re

from tests.support.cfn_yaml import PROJECT_ROOT, project_template
from traffic_tool.main import app


def deploy_section() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return readme.split("## Deploying to AWS")[1].split("### Template parameters")[0]


def test_every_make_target_in_the_deploy_guide_exists() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", deploy_section()))
    assert {"account-check", "push", "sam-build", "rollback", "drill"} <= named
    assert named <= targets, named - targets


def test_every_script_in_the_deploy_guide_exists_and_is_executable() -> None:
    scripts = set(re.findall(r"\bscripts/[\w.-]+", deploy_section()))
    assert scripts
    for script in scripts:
        path = PROJECT_ROOT / script
        assert path.is_file(), script
        if path.suffix == ".sh":
            assert path.stat().st_mode & 0o111, f"{script} is not executable"


def test_every_traffic_tool_command_in_the_deploy_guide_exists() -> None:
    commands = {c.name for c in app.registered_commands}
    used = set(re.findall(r"traffic-tool (\w[\w-]*)", deploy_section()))
    assert used and used <= commands, used - commands


def test_every_stack_output_the_guide_reads_exists() -> None:
    outputs = set(project_template()["Outputs"])
    read = set(re.findall(r"OutputKey=='(\w+)'", deploy_section()))
    assert read and read <= outputs, read - outputs
    for name in re.findall(r"outputs? `(\w+)`", deploy_section()):
        assert name in outputs, name
