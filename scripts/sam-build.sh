#!/usr/bin/env bash
# `sam build` of infra/template.yaml: every function through cargo-lambda (BuildMethod
# rust-cargolambda), the way `sam deploy` needs it.
#
#   scripts/sam-build.sh check     what `make test` runs: proves the template builds, cheaply.
#                                  Debug mode (SAM_BUILD_MODE=debug: no LTO, a fraction of the
#                                  release time), Architecture=x86_64 (the target installed by
#                                  default), output in $SAM_BUILD_DIR outside the tree
#                                  (default ${TMPDIR:-/tmp}/callvault-sam-build).
#   scripts/sam-build.sh release   what `make deploy` runs: release mode, ARCH (default arm64),
#                                  output in .aws-sam/build.
#
# `release` compiles into the workspace's target/ under target/<triple>/, `check` into
# target/sam-check/ (CARGO_TARGET_DIR to change either), so later builds are incremental. Runs at the lowest CPU priority.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
# sam runs `cargo lambda`: cargo-lambda and the zig it links with (`python3 -m ziglang`, so
# .venv's python3 must come first) are in .venv; sam itself is called from .venv-infra.
export PATH="$ROOT/.venv/bin:$PATH"
SAM="$ROOT/.venv-infra/bin/sam"

[[ -x $SAM ]] || { echo "sam-build: run 'make venv-infra'" >&2; exit 1; }
[[ -x $ROOT/.venv/bin/cargo-lambda ]] || { echo "sam-build: run 'make venv'" >&2; exit 1; }

triple() {
  case "$1" in
    arm64) echo aarch64-unknown-linux-gnu ;;
    x86_64) echo x86_64-unknown-linux-gnu ;;
    *) echo "sam-build: unknown architecture '$1' (arm64 or x86_64)" >&2; return 1 ;;
  esac
}

# The Rust standard library for the target must be installed (rustup target add ...).
require_target() {
  local t
  t=$(triple "$1")
  if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
    echo "sam-build: the Rust target $t is not installed: run 'rustup target add $t'" >&2
    echo "           (or build for the other architecture: ARCH=x86_64 / ARCH=arm64)" >&2
    return 1
  fi
}

mode=${1:-}
case "$mode" in
  check)
    arch=x86_64
    build_dir=${SAM_BUILD_DIR:-${TMPDIR:-/tmp}/callvault-sam-build}
    export SAM_BUILD_MODE=debug
    # No debug info: the check only needs the binaries to build and link.
    export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-0}
    # A target directory of its own, so that `make test` can run this beside `cargo test`
    # without the two waiting on each other's build-directory lock.
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/sam-check}
    ;;
  release)
    arch=${ARCH:-arm64}
    build_dir=${SAM_BUILD_DIR:-$ROOT/.aws-sam/build}
    unset SAM_BUILD_MODE
    ;;
  *) echo "usage: $0 check|release" >&2; exit 2 ;;
esac
require_target "$arch"

start=$SECONDS
nice -n 19 "$SAM" build \
  --template infra/template.yaml \
  --build-dir "$build_dir" \
  --parameter-overrides "Architecture=$arch" \
  ${SAM_BUILD_FLAGS:-}
echo "[sam-build] $mode build ($arch) in $build_dir: $((SECONDS - start))s"
