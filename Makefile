# callvault: `make dev` runs the whole system locally, `make test` runs every test.
# Both install what they need (a Python venv in .venv with moto and cargo-lambda; .venv-infra
# with the AWS SAM CLI and cfn-lint; .venv-checkov with checkov).

SHELL := /bin/bash
VENV := .venv
VENV_INFRA := .venv-infra
VENV_CHECKOV := .venv-checkov
VENV_BENCH := .venv-bench
TOOLS := .tools
export SAM_CLI_TELEMETRY := 0
export AWS_EC2_METADATA_DISABLED := true
# The test stack's ports (its emulator on 4567, not `make dev`'s 4566).
TEST_PORTS := MOTO_PORT=$${MOTO_PORT:-4567} LAMBDA_PORT=$${LAMBDA_PORT:-9000}

.PHONY: chaos dev test test-stack browser test-unit test-e2e bench bench-lambda bench-load bench-copy venv venv-infra venv-bench fmt lint lint-infra sam-build-check build deploy clean fuzz

## venv: Python tools used locally and in tests (the AWS emulator and cargo-lambda).
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## venv-infra: template checks and deployment tools, in two venvs of their own because
## aws-sam-cli and checkov each pin boto3 exactly (to different versions).
venv-infra: $(VENV_INFRA)/.installed $(VENV_CHECKOV)/.installed
$(VENV_INFRA)/.installed: requirements-infra.txt
	python3 -m venv $(VENV_INFRA)
	$(VENV_INFRA)/bin/pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $@
$(VENV_CHECKOV)/.installed: requirements-checkov.txt
	python3 -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

## browser: Debian's chromium and chromium-driver, for the console's real-browser test;
## installed with apt-get when missing (as root, or through sudo).
browser:
	@if ! command -v chromedriver >/dev/null || ! [ -x /usr/bin/chromium ]; then \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing chromium and chromium-driver (apt-get)"; \
	  $$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || \
	  { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }; \
	fi

## dev: emulator + every function under cargo lambda watch; Ctrl-C stops everything.
dev: venv
	@export CONSOLE_PORT=$${CONSOLE_PORT:-8787}; trap 'scripts/stack.sh down' EXIT INT TERM; \
	scripts/stack.sh up && scripts/dev-banner.sh && \
	echo "Press Ctrl-C to stop." && tail -n 0 -f $${TMPDIR:-/tmp}/callvault-stack-$${MOTO_PORT:-4566}/watch.log

## test: lint, template checks, sam build, and every test of the workspace (unit, storage against
## the emulator, end to end through cargo lambda watch) in one `cargo test` run, so the
## workspace is built once; then a 500-delivery chaos run (below). Independent steps overlap
## (each one's output is printed whole when it ends): the infrastructure venvs install while
## clippy runs, and `sam build` compiles at low priority while the tests wait on the emulator
## and the functions.
test: venv
	$(MAKE) -j2 --output-sync=target lint venv-infra browser
	$(MAKE) lint-infra
	cargo test --workspace --no-run
	$(MAKE) -j2 --output-sync=target sam-build-check test-stack
	$(MAKE) chaos CHAOS_DELIVERIES=500 CHAOS_SEED=1

## test-stack: start the local stack, run every test of the workspace, stop the stack.
test-stack: venv
	$(TEST_PORTS) scripts/stack.sh test

## test-unit: the tests that need no served functions (storage tests start their own emulator).
test-unit: venv
	cargo test --workspace --exclude callvault-e2e

## test-e2e: only the end-to-end tests, against a stack started for them.
test-e2e: venv
	$(TEST_PORTS) scripts/stack.sh e2e

## venv-bench: the Python reference's phonenumbers, for `make bench`.
venv-bench: $(VENV_BENCH)/.installed
$(VENV_BENCH)/.installed: requirements-bench.txt
	python3 -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

## bench: criterion benchmark of verify + parse + normalize per provider (the long Hatif call
## first), then payload by payload the equal-work Python reference around the same payload's
## criterion run, printed side by side with the ratio (README table).
bench: venv-bench
	cargo bench -p callvault-records --bench ingest -- 30min-words
	$(VENV_BENCH)/bin/python shared/records/benches/reference.py .

## bench-lambda: each webhook's release binary under a Lambda Runtime API harness against the
## emulator: init, first delivery, warm p50/p99 and peak RSS, with and without phone numbers
## (README table). BENCH_WARM sets the warm deliveries per run (default 1000).
bench-lambda: venv
	cargo build --quiet -p callvault-devstack
	cargo build --release $$(target/debug/callvault-devstack functions | sed 's/^/-p /')
	set -a; . ./dev.env; set +a; cargo run --quiet -p callvault-e2e --bin bench-lambda -- $(BENCH_WARM)

## chaos: custody under faults (README "Chaos"): CHAOS_DELIVERIES deliveries (default 10000)
## through a local stack whose DynamoDB and S3 stall and go down at random and whose copier
## is killed mid-copy, then the same deliveries without faults: the table and bucket must be
## equal. CHAOS_SEED replays a run's deliveries and fault schedule (printed at the start).
CHAOS_DELIVERIES ?= 10000
CHAOS_SEED ?=
chaos: venv
	cargo build --quiet --bins --workspace
	set -a; . ./dev.env; set +a; target/debug/chaos $(CHAOS_DELIVERIES) $(CHAOS_SEED)

## bench-load: 2,000 deliveries across the webhooks, 50 at a time, through cargo lambda watch
## on the test stack, then one at a time: nothing lost or doubled, and the rate (README).
bench-load: venv
	$(TEST_PORTS) scripts/stack.sh run cargo run --quiet -p callvault-e2e --bin bench-load

## bench-copy: 1 GiB copy through the streaming copier vs download-then-upload, into moto and
## into a fast local S3 (tools/fast-s3: s3s-fs plus object tags and an S3-like multipart
## completion, built here) (README table).
bench-copy: venv
	cargo build --release --quiet --manifest-path tools/fast-s3/Cargo.toml
	CALLVAULT_FAST_S3=$(CURDIR)/tools/fast-s3/target/release/callvault-fast-s3 cargo bench -p callvault-archive --bench copy_1gib

## fuzz: every cargo-fuzz target for FUZZ_SECONDS each (default 30), one after the other;
## installs cargo-fuzz (nightly) if missing. Not part of `make test`; see fuzz/README.md.
FUZZ_SECONDS ?= 30
CARGO_FUZZ_VERSION := 0.13.2
fuzz:
	@rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	@cargo +nightly fuzz --version >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

fmt:
	cargo fmt --all

## lint: rustfmt, clippy (warnings are errors) and cargo-machete (no unused dependencies).
lint: $(TOOLS)/bin/cargo-machete
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(TOOLS)/bin/cargo-machete

## cargo-machete (unused dependencies, for `make lint`), built once into .tools: a debug
## build, which takes under a minute and checks the workspace in seconds.
$(TOOLS)/bin/cargo-machete:
	cargo install --debug --locked --quiet --root $(TOOLS) cargo-machete --version 0.9.2

## lint-infra: the OpenAPI document, cfn-lint (template and its translation), sam validate --lint,
## checkov, self-test; then all of it again for the template with two providers enabled
## (EnabledProviders defaulting to hatif,voki, written under target/), which must lint clean too.
LINT_INFRA_TWO_PROVIDERS := target/lint-infra/template-hatif-voki.yaml
lint-infra: venv venv-infra
	$(VENV)/bin/openapi-spec-validator docs/openapi.yaml
	scripts/lint-infra.sh
	@mkdir -p $(dir $(LINT_INFRA_TWO_PROVIDERS))
	sed 's/^    Default: hatif,voiceinfra,voki,postcall$$/    Default: hatif,voki/' infra/template.yaml >$(LINT_INFRA_TWO_PROVIDERS)
	@if cmp -s infra/template.yaml $(LINT_INFRA_TWO_PROVIDERS); then \
	  echo "lint-infra: no EnabledProviders default to replace in infra/template.yaml; update the Makefile's lint-infra" >&2; exit 1; fi
	TEMPLATE=$(LINT_INFRA_TWO_PROVIDERS) scripts/lint-infra.sh

## sam-build-check: `sam build` of every function with cargo-lambda, cheaply (debug, x86_64,
## output outside the tree); what `make deploy` builds in release mode.
sam-build-check: venv venv-infra
	scripts/sam-build.sh check

## build: release binaries and bootstrap.zip of every function, per architecture whose Rust
## target is installed (ARCHS="arm64 x86_64"), into target/lambda/<arch>/<function>/.
build: venv
	scripts/build.sh

## deploy: sam build (release, ARCH=arm64 by default) and sam deploy, guided the first time
## (answers saved in infra/samconfig.toml).
deploy: venv venv-infra
	scripts/deploy.sh

clean:
	rm -rf target .aws-sam $(VENV) $(VENV_INFRA) $(VENV_CHECKOV) $(VENV_BENCH) $(TOOLS)
