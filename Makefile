# The two commands: `make run` (the whole bundle locally) and `make test` (every test).
# Both work on a fresh machine: they install what they need into .venv (moto server,
# cfn-lint, cargo-lambda with its zig) from PyPI.

SHELL := /bin/bash
VENV := .venv

.PHONY: run test venv lint fmt clippy unit bench bench-send clean

$(VENV)/.installed: scripts/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r scripts/requirements.txt
	touch $@

venv: $(VENV)/.installed

## make run: moto on 127.0.0.1:4566, the API on http://127.0.0.1:3000, the worker draining the queue.
run: venv
	scripts/run-local.sh

## make test: fmt, template lint, clippy, unit + integration tests against moto, the Lambda emulator run.
test: venv
	scripts/test.sh

lint: venv
	$(VENV)/bin/cfn-lint template.yaml

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

bench:
	cargo bench -p bridge --bench ingest

## make bench-send: worker send throughput against moto and the Graph API stand-in.
bench-send: venv
	scripts/bench-send.sh

clean:
	rm -rf .local $(VENV)
	cargo clean
