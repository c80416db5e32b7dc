"""Read a CloudFormation/SAM YAML template into plain dicts.

CloudFormation's short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub …`, `!If […]`) become their
long forms (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, …), so a reader can walk the template
without knowing YAML tags. Dates stay strings (`AWSTemplateFormatVersion: 2010-09-09`), as
CloudFormation reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Short forms whose long form is not simply "Fn::<Tag>".
_SPECIAL = {"Ref": "Ref", "Condition": "Condition"}


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that knows CloudFormation's intrinsic-function tags."""


# CloudFormation has no timestamp type: keep `2010-09-09` a string.
CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected node for !{tag_suffix}", node.start_mark
        )
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {_SPECIAL.get(tag_suffix, f"Fn::{tag_suffix}"): value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def loads(text: str) -> dict[str, Any]:
    """Parse template text; the top level must be a mapping."""
    data = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(data, dict):
        raise ValueError("a CloudFormation template must be a YAML mapping at the top level")
    return data


def load_template(path: str | Path) -> dict[str, Any]:
    """Read and parse a template file."""
    return loads(Path(path).read_text(encoding="utf-8"))
