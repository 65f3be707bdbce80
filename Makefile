# Graviton Guarantee: `make synth` and `make test` from a fresh clone; `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
CHECKOV_VENV := $(VENV)/checkov
ENV ?= dev
# docker-build's platform; arm64 is what every environment runs.
ARCH ?= arm64
# The system Node decides whether the pinned Node 22 (an optional npm dependency) is installed.
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
NPM_OMIT := $(shell [ "$(SYSTEM_NODE_MAJOR)" -ge 22 ] && echo --omit=optional)
# Pinned CLI and (when installed) Node 22 first; jsii starts `node` from PATH too.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
CDK := $(CURDIR)/node_modules/.bin/cdk
STACK_dev := DevStack
STACK_test := TestStack
STACK_prod := ProdStack
STACK = $(or $(STACK_$(ENV)),$(error ENV=$(ENV) is not allowed; use ENV=dev, ENV=test or ENV=prod))
# when cdk deploy asks before deploying: never (scripts and CI), any-change, broadening (CDK's default) or destructive.
REQUIRE_APPROVAL ?=
APPROVAL = $(if $(REQUIRE_APPROVAL),$(if $(filter never any-change broadening destructive,$(REQUIRE_APPROVAL)),--require-approval $(REQUIRE_APPROVAL),$(error REQUIRE_APPROVAL=$(REQUIRE_APPROVAL) is not allowed; use never, any-change, broadening or destructive)))
# -c overrides for every target that synthesizes or reads cdk.json, the same in each, so a diff previews exactly
# what the deploy does: make synth CONTEXT="-c eks=dev", then make deploy ENV=dev CONTEXT="-c eks=dev"
CONTEXT ?=

.PHONY: help setup synth checkov cost test fuzz lint docs bench deploy diff verify deploy-pipeline diff-pipeline clean docker-push-dev docker-push-test docker-push-prod docker-build

# The docker-push targets and ENV values as cdk.json allows them (graviton_commands.make_help, standard library only);
# the static list when cdk.json or .venv cannot be read.
help: ## list the commands
	@lines=$$(grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'); \
	{ printf '%s\n' "$$lines" | $(PY) -m graviton_commands.make_help $(CONTEXT) 2>/dev/null || printf '%s\n' "$$lines"; } \
	| expand -t 20

# checkov pins boto3 and packaging to releases the app's own pins contradict: it has a virtualenv of its own.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-checkov.txt $(wildcard docker/*/requirements.txt) pyproject.toml
	@command -v python3 >/dev/null || { echo "make: python3 (3.11 or newer) is required" >&2; exit 1; }
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: node and npm are required" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error $(NPM_OMIT)
	@touch $@

setup: $(VENV)/.installed node_modules/.installed ## create .venv and install the pinned CDK CLI (skipped when nothing changed)

synth: setup ## synthesize every stack into cdk.out/ and print a summary
	$(CDK) synth --quiet $(CONTEXT)
	@$(PY) -m graviton_commands.summary cdk.out

# --skip-download: no request to the vendor's platform (nothing here uses it; without a network it only waits).
checkov: synth ## scan every template in cdk.out (pipeline stages included) with checkov: zero failed checks expected
	$(CHECKOV_VENV)/bin/checkov -d cdk.out --framework cloudformation --compact --quiet --skip-download

cost: setup ## monthly cost per environment on arm64 vs x86, from cdk.out and cdk.json's usage; chart in cdk.out/cost.svg
	@$(PY) -m graviton_commands.cost cdk.out $(strip $(CONTEXT) $(COST_ARGS))

# pytest keeps its rewritten test modules, and Python our modules, in __pycache__/ (git-ignored; the Lambda asset
# folders and .dockerignore files leave it out), so the next run's workers and the commands the tests start do
# not compile them again. Some machines set PYTHONDONTWRITEBYTECODE=1, which would turn that off for the tests.
test: setup ## lint and type-check, then run the whole test suite on two workers
	$(PY) -m ruff check .
	$(PY) -m mypy
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n 2 --dist loadfile

# The same property-based tests as make test (the `fuzz` marker), with Hypothesis's `fuzz` profile: thousands of
# fresh random examples each instead of a hundred fixed ones (tests/fuzz_profiles.py).
fuzz: setup ## the property-based tests of the one-line refusals (settings, -c, every command) with thousands of examples
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n 2 -m fuzz --hypothesis-profile fuzz

# BENCH_ARGS go to the guard's benchmark (--sizes, --builds, --repeats); SCALE_ARGS to the growth one (--sizes 2,50,200).
bench: setup ## command start-up, make synth beside a one-bucket app, the guard's synth overhead (medians), synth growth with the services
	$(PY) tests/bench/commands.py
	$(PY) tests/bench/guard_overhead.py $(BENCH_ARGS)
	$(PY) tests/bench/scale_growth.py $(SCALE_ARGS)

docs: setup ## regenerate docs/configuration.md and docs/guard-rules.md from the code
	$(PY) scripts/generate_docs.py

lint: setup ## ruff only
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# --import-existing-resources: a repository the stack's last instance retained (same name, no stack) is adopted
# instead of failing the create with "already exists", images and all (docs/operations.md#delete-and-deploy-again).
# deploy and diff synthesize once, check credentials, account and bootstrap against that assembly (one line when
# something is missing), then hand the same assembly to cdk.
deploy: setup ## deploy one environment: make deploy ENV=dev [REQUIRE_APPROVAL=never] (cdk deploy DevStack, adopting repositories it retained)
	$(CDK) synth --quiet $(STACK) $(CONTEXT)
	@$(PY) -m graviton_commands.preflight --env $(ENV) --stack $(STACK) $(CONTEXT)
	$(CDK) deploy --app cdk.out $(STACK) --import-existing-resources $(APPROVAL)

diff: setup ## show what a deploy would change: make diff ENV=dev
	$(CDK) synth --quiet $(STACK) $(CONTEXT)
	@$(PY) -m graviton_commands.preflight --env $(ENV) --stack $(STACK) $(CONTEXT)
	$(CDK) diff --app cdk.out $(STACK)

verify: setup ## check in AWS that ENV runs on arm64 only (images, functions, tasks, builds, nodes, GET /arch): make verify ENV=dev [VERIFY_ARGS=--json|--deep]
	@$(PY) -m graviton_commands.verify --env $(ENV) --stack $(STACK) $(strip $(CONTEXT) $(VERIFY_ARGS))

deploy-pipeline: setup ## deploy PipelineStack once (it updates itself on push after that); needs the pipeline_* keys in cdk.json
	@$(PY) -m graviton_commands.pipeline_settings $(CONTEXT)
	$(CDK) deploy PipelineStack $(CONTEXT)

diff-pipeline: setup ## show what deploy-pipeline would change
	@$(PY) -m graviton_commands.pipeline_settings $(CONTEXT)
	$(CDK) diff PipelineStack $(CONTEXT)

docker-push-dev: ## build SERVICE's sources on dev's ARM CodeBuild: make docker-push-dev SERVICE=api [DOCKERFILE=...]
docker-push-test: ## the same for test: make docker-push-test SERVICE=api
docker-push-prod: ## the same for prod: make docker-push-prod SERVICE=api
docker-push-dev docker-push-test docker-push-prod: docker-push-%: setup
	@[ -n "$(SERVICE)" ] || { echo "make: SERVICE is required: make docker-push-$* SERVICE=<name from cdk.json>" >&2; exit 2; }
	scripts/docker-push.sh $* $(SERVICE) $(DOCKERFILE) $(CONTEXT)

docker-build: setup ## local test build with this machine's Docker, never pushed: make docker-build [ARCH=amd64] [SERVICE=api]
	$(PY) -m graviton_commands.docker_build --arch $(ARCH) $(strip $(CONTEXT) $(SERVICE))

.PHONY: new-service
new-service: setup ## add a service: docker/NAME/ from a template, and its cdk.json entry: make new-service NAME=orders TARGET=lambda|ecs|eks|ecs,eks
	@$(PY) -m graviton_commands.new_service "$(NAME)" --target "$(TARGET)"

.PHONY: refresh-pins
refresh-pins: setup ## lock each service's requirements to hashed aarch64 wheels, pin base images by digest [PINS_ARGS=--check]
	@$(PY) -m graviton_commands.refresh_pins $(strip $(CONTEXT) $(PINS_ARGS))

clean: ## remove cdk.out (keeps .venv and node_modules)
	rm -rf cdk.out
