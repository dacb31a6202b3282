# The two commands: `make run` (the whole bundle locally) and `make test` (every test).
# Both work on a fresh machine: they install what they need into .venv (moto server,
# cfn-lint, cargo-lambda with its zig) from PyPI.

SHELL := /bin/bash
VENV := .venv
SAM_VENV := .venv-sam

.PHONY: help run test venv sam-venv sam-docker sam-local sam-start-api lint fmt clippy unit build deploy bench bench-send bench-media bench-events bench-cold-start chaos-send soak cost fuzz clean
.DEFAULT_GOAL := help

## make help: this list (also plain `make`).
help:
	@grep -E '^## make ' $(firstword $(MAKEFILE_LIST)) | sed -e 's/^## make //' -e 's/^\([a-z-]*\):/  \1\t/' | expand -t 22

$(VENV)/.installed: scripts/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r scripts/requirements.txt
	touch $@

## make venv: .venv with moto, boto3, cfn-lint and cargo-lambda (the other targets do this themselves).
venv: $(VENV)/.installed

# The SAM CLI, and the host-network shim (scripts/sam/sam_host_network.py) that make sam-local
# switches on with SAM_LOCAL_HOST_NETWORK=1 (loaded through a .pth file; inert otherwise).
$(SAM_VENV)/.installed: scripts/requirements-sam.txt scripts/sam/sam_host_network.py
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r scripts/requirements-sam.txt
	$(SAM_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > $(SAM_VENV)/.purelib
	printf '%s\nimport sam_host_network\n' "$(CURDIR)/scripts/sam" > "$$(cat $(SAM_VENV)/.purelib)/sam_host_network.pth"
	touch $@

## make sam-venv: .venv-sam with the SAM CLI and its host-network shim (docs/sam-local.md).
sam-venv: $(SAM_VENV)/.installed

## make sam-docker: what sam local needs here: Docker (no bridge), qemu-aarch64, the local base image (root).
sam-docker:
	scripts/sam-docker.sh

## make sam-local: sam build, then every function through sam local invoke and start-api against moto.
sam-local: venv sam-venv
	scripts/sam-local.sh

## make sam-start-api: sam build, then the template's routes on http://127.0.0.1:3003 (SAM_API_PORT) against make run's moto.
sam-start-api: venv sam-venv
	scripts/sam-start-api.sh

## make run: moto on 127.0.0.1:4566, the API on http://127.0.0.1:3000, the worker draining the queue.
run: venv
	scripts/run-local.sh

## make test: every check: fmt, lint, clippy, unit + integration tests on moto, the emulators, sam local.
# On its own moto (127.0.0.1:4599, TEST_AWS_PORT) and `-test` resource names, beside a running `make run`.
test: venv
	scripts/test.sh

## make lint: cfn-lint and sam validate --lint on template.yaml.
lint: venv sam-venv
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint --template template.yaml

## make build: every function for arm64 (release, cargo-lambda + zig), with each bootstrap's zipped size.
build: venv
	scripts/build-arm64.sh

## make deploy: sam build + sam deploy (guided the first time); needs AWS credentials.
deploy: venv sam-venv
	scripts/deploy.sh

## make fmt: cargo fmt --all.
fmt:
	cargo fmt --all

## make clippy: cargo clippy on every target, warnings denied.
clippy:
	cargo clippy --workspace --all-targets -- -D warnings

## make bench: webhook ingestion CPU (signature check + envelope) against the bare HMAC.
bench:
	cargo bench -p bridge --bench ingest

## make bench-cold-start: every function's release binary against a local Runtime API emulator (moto up).
bench-cold-start: venv
	scripts/bench-cold-start.sh

## make bench-send: worker send throughput against moto and the Graph API stand-in.
bench-send: venv
	scripts/bench-send.sh

## make bench-media: peak memory (RSS) of keeping a 100 MB inbound document, stand-in -> worker -> moto.
bench-media: venv
	scripts/bench-media.sh

## make bench-events: the worker's per-record cost with EventBridge events off and on, against moto.
bench-events: venv
	scripts/bench-events.sh

## make chaos-send: CHAOS_SENDS (200, ~3.5 min) sends through every ambiguous Graph case, the worker's AWS calls through seeded faults (CHAOS_SEED), against moto and the stand-in.
chaos-send: venv
	scripts/chaos-send.sh

## make soak: SOAK_WEBHOOKS (2000) signed webhooks at 50 concurrent through a fault proxy in front of moto, the worker killed once; one line of figures.
soak: venv
	scripts/soak.sh

## make cost: a fixed workload (COST_SCALE, 1 = 1,000 inbound, 200 sends...) counted against moto and priced; writes docs/cost.md, fails over the log budgets.
cost: venv
	scripts/cost.sh

## make fuzz: every fuzz target for FUZZ_SECONDS (60) each, bounded memory and time; executions per target.
fuzz:
	scripts/fuzz.sh

## make clean: removes .local (the cached base-image rootfs too), both venvs, .aws-sam and target/.
clean:
	rm -rf .local $(VENV) $(SAM_VENV) .aws-sam
	cargo clean
