#!/usr/bin/env bash
# Builds every function with `sam build` (release) and deploys infra/template.yaml with
# `sam deploy`. The first run is guided (stack name, region, parameters) and saves the answers
# in infra/samconfig.toml (git-ignored: it is this deployment's); later runs reuse them.
#
#   ARCH=arm64|x86_64   architecture to build and deploy (default: the saved one, else arm64).
#                       arm64 needs `rustup target add aarch64-unknown-linux-gnu`.
#   STACK_NAME          default stack name offered by the guided run (default callvault).
#   GUIDED=1            run the guided deploy again (to change parameters).
#
# Needs AWS credentials in the usual places (AWS_PROFILE, environment, SSO).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SAM_CLI_TELEMETRY=0
SAM="$ROOT/.venv-infra/bin/sam"
CONFIG="$ROOT/infra/samconfig.toml"
BUILD_DIR="$ROOT/.aws-sam/build"
[[ -x $SAM ]] || { echo "deploy: run 'make venv-infra'" >&2; exit 1; }

# The architecture saved by an earlier guided run (parameter_overrides "... Architecture=\"x86_64\" ...").
saved=""
if [[ -f $CONFIG ]]; then
  saved=$(grep -oE 'Architecture=\\?"?(arm64|x86_64)' "$CONFIG" | head -n1 | grep -oE 'arm64|x86_64' || true)
fi
arch=${ARCH:-${saved:-arm64}}
if [[ -n $saved && $arch != "$saved" && -z ${GUIDED:-} ]]; then
  echo "deploy: infra/samconfig.toml deploys Architecture=$saved; to switch to $arch run: GUIDED=1 ARCH=$arch make deploy" >&2
  exit 1
fi

ARCH=$arch SAM_BUILD_DIR="$BUILD_DIR" scripts/sam-build.sh release

if [[ ! -f $CONFIG || -n ${GUIDED:-} ]]; then
  "$SAM" deploy --guided \
    --template-file "$BUILD_DIR/template.yaml" \
    --config-file "$CONFIG" \
    --stack-name "${STACK_NAME:-callvault}" \
    --capabilities CAPABILITY_IAM \
    --parameter-overrides "Architecture=$arch"
else
  "$SAM" deploy --template-file "$BUILD_DIR/template.yaml" --config-file "$CONFIG"
fi
echo
echo "Webhook URLs and resource names: the stack outputs above; next, set each provider's"
echo "secret and give it its URL as docs/providers/<provider>.md describes."
