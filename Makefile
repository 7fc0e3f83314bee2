# callvault: `make dev` runs the whole system locally, `make test` runs every test.
# Both install what they need (a Python venv in .venv with moto and cargo-lambda).

SHELL := /bin/bash
VENV := .venv
export SAM_CLI_TELEMETRY := 0
export AWS_EC2_METADATA_DISABLED := true

.PHONY: dev test test-unit test-e2e bench bench-copy venv fmt lint clean

## venv: Python tools used locally and in tests (the AWS emulator and cargo-lambda).
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## dev: emulator + every function under cargo lambda watch; Ctrl-C stops everything.
dev: venv
	@trap 'scripts/stack.sh down' EXIT INT TERM; \
	scripts/stack.sh up && scripts/dev-banner.sh && \
	echo "Press Ctrl-C to stop." && tail -n 0 -f $${TMPDIR:-/tmp}/callvault-stack-$${MOTO_PORT:-4566}/watch.log

## test: lint, unit tests, storage tests against the emulator, end-to-end tests through cargo lambda watch.
test: venv
	$(MAKE) lint
	$(MAKE) test-unit
	$(MAKE) test-e2e

test-unit: venv
	cargo test --workspace --exclude callvault-e2e

test-e2e: venv
	MOTO_PORT=$${MOTO_PORT:-4567} LAMBDA_PORT=$${LAMBDA_PORT:-9000} scripts/stack.sh e2e

## bench: criterion benchmark of verify + parse + normalize per provider (README table).
bench:
	cargo bench -p callvault-records --bench ingest

## bench-copy: 1 GiB copy through the streaming copier vs download-then-upload (README table).
bench-copy: venv
	cargo bench -p callvault-archive --bench copy_1gib

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf target $(VENV)
