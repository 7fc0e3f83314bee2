#!/usr/bin/env python3
"""Translates the SAM template into the plain CloudFormation that AWS deploys, offline.

    sam-translate.py infra/template.yaml OUT.json

cfn-lint (1.x) no longer expands SAM resources: it checks them against its own SAM schema,
which leaves parts of them unchecked (for example a `!Ref` to a missing resource in an
environment variable whose name has an underscore, or in a policy statement). Linting the
translation too checks every generated resource against CloudFormation's own schemas.

Runs with the infra venv's Python (aws-sam-translator comes with aws-sam-cli). Needs no AWS
account: the template names no managed policies, so the translator never asks IAM for them.
"""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class NoManagedPolicies:
    """A managed policy loader that never calls IAM."""

    def load(self):
        raise SystemExit(
            "sam-translate: the template names an AWS managed policy; list it here or use an "
            "inline statement"
        )


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, out = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # As `sam validate` does: code is uploaded by `sam deploy`, so stand in for local paths.
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(
            props.get("CodeUri"), str
        ):
            props["CodeUri"] = "s3://code-bucket/code.zip"
    try:
        translated = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"sam-translate: {cause.message}", file=sys.stderr)
        return 1
    with open(out, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
