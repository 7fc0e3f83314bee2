#!/usr/bin/env bash
# Checks infra/template.yaml offline, failing on any finding:
#
#   1. cfn-lint on the SAM template;
#   2. cfn-lint on its CloudFormation translation (scripts/sam-translate.py): cfn-lint 1.x checks
#      SAM resources against its own SAM schema, which does not look inside everything (a broken
#      `!Ref` in a function's environment variable passes), the translation is checked in full;
#   3. sam validate --lint;
#   4. checkov (infra/checkov.yaml; every skipped check has its reason there or in the template);
#   5. a self-test: deliberately broken copies of the template must fail the check meant to
#      catch them, so a tool upgrade that stops seeing a class of mistake fails here.
#
# Tools come from .venv-infra (aws-sam-cli, cfn-lint, aws-sam-translator) and .venv-checkov
# (checkov), installed by `make venv-infra`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TEMPLATE=${TEMPLATE:-infra/template.yaml}
INFRA_BIN="$ROOT/.venv-infra/bin"
CHECKOV_BIN="$ROOT/.venv-checkov/bin"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

[[ -x $INFRA_BIN/sam && -x $CHECKOV_BIN/checkov ]] || { echo "lint-infra: run 'make venv-infra'" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/callvault-lint-infra.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

step() {
  local name=$1 start=$SECONDS
  shift
  if "$@"; then
    printf '[lint-infra] ok   %-34s %3ds\n' "$name" $((SECONDS - start))
  else
    printf '[lint-infra] FAIL %s\n' "$name" >&2
    return 1
  fi
}

cfn_lint() { "$INFRA_BIN/cfn-lint" "$1"; }
# cfn_lint_translated FILE [OUT]: OUT keeps the translation (line numbers in findings refer to it).
cfn_lint_translated() {
  local out=${2:-$WORK/translated.json}
  "$INFRA_BIN/python" scripts/sam-translate.py "$1" "$out" && "$INFRA_BIN/cfn-lint" "$out"
}
sam_validate() { "$INFRA_BIN/sam" validate --lint --template "$1"; }
checkov() { "$CHECKOV_BIN/checkov" --file "$1" --config-file infra/checkov.yaml --skip-download; }

# mutant NAME SED-EXPRESSION: a copy of the template with one deliberate mistake.
mutant() {
  local out="$WORK/$1.yaml"
  sed -e "$2" "$TEMPLATE" >"$out"
  if cmp -s "$TEMPLATE" "$out"; then
    echo "lint-infra: self-test mutation '$1' no longer applies to $TEMPLATE; update it" >&2
    return 1
  fi
  echo "$out"
}

# must_fail NAME CHECK SED-EXPRESSION
must_fail() {
  local file
  file=$(mutant "$1" "$3") || return 1
  if "$2" "$file" >"$WORK/$1.log" 2>&1; then
    echo "lint-infra: $2 accepted a template with $1" >&2
    return 1
  fi
}

self_test() {
  # A reference to a resource that does not exist, in a SAM function's environment.
  must_fail "a broken !Ref in an environment variable" cfn_lint_translated \
    's/VOKI_WEBHOOK_SECRETS_ARN: !Ref VokiSecret$/VOKI_WEBHOOK_SECRETS_ARN: !Ref VokiSecretTypo/' &&
  # A misspelt property of a plain CloudFormation resource.
  must_fail "a misspelt resource property" cfn_lint \
    's/SqsManagedSseEnabled: true/SqsManagedSseEnabld: true/' &&
  # A misspelt property of a SAM event source (only the translator knows SAM events in full).
  must_fail "a misspelt event source property" cfn_lint_translated \
    's/BisectBatchOnFunctionError: true/BisectBatchOnFunctionErr: true/' &&
  # A security regression.
  must_fail "point-in-time recovery disabled" checkov \
    's/PointInTimeRecoveryEnabled: true/PointInTimeRecoveryEnabled: false/'
}

step "cfn-lint (SAM template)" cfn_lint "$TEMPLATE"
step "cfn-lint (translated template)" cfn_lint_translated "$TEMPLATE" \
  "${TMPDIR:-/tmp}/callvault-template.translated.json"
step "sam validate --lint" sam_validate "$TEMPLATE"
step "checkov" checkov "$TEMPLATE"
step "self-test (broken templates fail)" self_test
