#!/usr/bin/env bash
# Release builds of every function (functions/*), as Lambda bootstrap binaries and zips, for
# each architecture whose Rust target is installed:
#
#   target/lambda/<arch>/<function>/bootstrap.zip     (arch: arm64, x86_64)
#
# ARCHS selects the architectures (default "arm64 x86_64"). An architecture whose Rust target
# is missing is skipped with the command that installs it (for arm64:
# `rustup target add aarch64-unknown-linux-gnu`; cargo-lambda cross-links with zig, from .venv,
# so nothing else is needed). Fails if nothing could be built, or if an architecture named in
# ARCHS explicitly cannot be. Release builds use LTO and one codegen unit: expect 10 to 20
# minutes per architecture on 2 cores. Runs at the lowest CPU priority.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# cargo-lambda and the zig it links with (`python3 -m ziglang`) are in .venv.
export PATH="$ROOT/.venv/bin:$PATH"
[[ -x $ROOT/.venv/bin/cargo-lambda ]] || { echo "build: run 'make venv'" >&2; exit 1; }

explicit=${ARCHS:+yes}
archs=${ARCHS:-arm64 x86_64}
bins=()
for manifest in functions/*/Cargo.toml; do
  bins+=(--bin "$(basename "$(dirname "$manifest")")")
done

installed=$(rustup target list --installed 2>/dev/null || rustc -vV | sed -n 's/^host: //p')
built=() skipped=()
for arch in $archs; do
  case "$arch" in
    arm64) triple=aarch64-unknown-linux-gnu ;;
    x86_64) triple=x86_64-unknown-linux-gnu ;;
    *) echo "build: unknown architecture '$arch' (arm64 or x86_64)" >&2; exit 2 ;;
  esac
  if ! grep -qx "$triple" <<<"$installed"; then
    echo "build: skipping $arch: the Rust target $triple is not installed (rustup target add $triple)" >&2
    skipped+=("$arch")
    continue
  fi
  start=$SECONDS
  nice -n 19 cargo lambda build --release --target "$triple" --output-format zip \
    --lambda-dir "target/lambda/$arch" "${bins[@]}"
  echo "build: $arch in $((SECONDS - start))s:"
  ls -l target/lambda/"$arch"/*/bootstrap.zip
  built+=("$arch")
done

if ((${#built[@]} == 0)); then
  echo "build: nothing built" >&2
  exit 1
fi
if [[ -n $explicit ]] && ((${#skipped[@]} > 0)); then
  echo "build: could not build ${skipped[*]}" >&2
  exit 1
fi
