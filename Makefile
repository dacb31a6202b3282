# The two commands: `make run` (the whole bundle locally) and `make test` (every test).
# Both work on a fresh machine: they install what they need into .venv (moto server,
# cfn-lint, cargo-lambda with its zig) from PyPI.

SHELL := /bin/bash
VENV := .venv
SAM_VENV := .venv-sam

.PHONY: run test venv sam-venv lint fmt clippy unit build deploy bench bench-send bench-cold-start chaos-send fuzz clean

$(VENV)/.installed: scripts/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r scripts/requirements.txt
	touch $@

venv: $(VENV)/.installed

$(SAM_VENV)/.installed: scripts/requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r scripts/requirements-sam.txt
	touch $@

sam-venv: $(SAM_VENV)/.installed

## make run: moto on 127.0.0.1:4566, the API on http://127.0.0.1:3000, the worker draining the queue.
run: venv
	scripts/run-local.sh

## make test: fmt, template lint, clippy, unit + integration tests against moto, the Lambda emulator run;
## on its own moto (127.0.0.1:4599, TEST_AWS_PORT) and `-test` resource names, beside a running `make run`.
test: venv
	scripts/test.sh

lint: venv sam-venv
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint --template template.yaml

## make build: every function for arm64 (release, cargo-lambda + zig), with each bootstrap's zipped size.
build: venv
	scripts/build-arm64.sh

## make deploy: sam build + sam deploy (guided the first time); needs AWS credentials.
deploy: venv sam-venv
	scripts/deploy.sh

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

bench:
	cargo bench -p bridge --bench ingest

## make bench-cold-start: every function's release binary against a local Runtime API emulator (moto up).
bench-cold-start: venv
	scripts/bench-cold-start.sh

## make bench-send: worker send throughput against moto and the Graph API stand-in.
bench-send: venv
	scripts/bench-send.sh

## make chaos-send: CHAOS_SENDS (500) sends through every ambiguous case against moto and the stand-in.
chaos-send: venv
	scripts/chaos-send.sh

## make fuzz: every fuzz target for FUZZ_SECONDS (60) each, bounded memory and time; executions per target.
fuzz:
	scripts/fuzz.sh

clean:
	rm -rf .local $(VENV) $(SAM_VENV) .aws-sam
	cargo clean
