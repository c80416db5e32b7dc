# traffic-tool — every command a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON312 := $(shell scripts/find-python.sh 2>/dev/null)
PY312_DIR := $(dir $(PYTHON312))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OFFLINE := scripts/offline.sh
# sam build (native) looks for python3.12 on PATH
SAM_PATH := $(PY312_DIR):$(abspath $(VENV))/bin:$(PATH)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/install-system.sh
	@test -n "$(PYTHON312)" || { echo "error: Python 3.12 not found"; exit 1; }
	scripts/install-system.sh
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Debian packages, the virtualenv and the Python packages

.PHONY: demo
demo: $(STAMP) ## the local stack, a sample site, one job, its results table
	$(OFFLINE) $(VENV)/bin/traffic-tool demo

.PHONY: dev
dev: $(STAMP) ## the local stack (API on :8080, Redis, workers, schedules)
	$(VENV)/bin/traffic-tool dev

.PHONY: lint
lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/core/jobcore functions worker/worker cli/traffic_tool scripts

.PHONY: cfn-lint
cfn-lint: $(STAMP) ## lint template.yaml
	$(VENV)/bin/cfn-lint template.yaml

.PHONY: sam-build
sam-build: $(STAMP) ## sam build, native (no Docker)
	PATH="$(SAM_PATH)" $(VENV)/bin/sam build --cached --parallel

.PHONY: test
test: $(STAMP) ## the test suite, offline (loopback-only network namespace)
	$(OFFLINE) $(PY) -m pytest

.PHONY: test-reliability
test-reliability: $(STAMP) ## faults, adversaries and load: the slow proof suite (about 12 minutes)
	$(OFFLINE) $(PY) -m pytest tests/reliability -s -p no:cacheprovider

.PHONY: check
check: lint cfn-lint sam-build test test-reliability ## everything CI runs

.PHONY: bench-api
bench-api: $(STAMP) ## submit latency through the local adapter, queue throughput
	$(OFFLINE) $(PY) scripts/bench_api.py

.PHONY: bench-worker
bench-worker: $(STAMP) ## browser sessions/min, KB/session, memory per session
	$(OFFLINE) $(PY) scripts/bench_worker.py

.PHONY: bench-guards
bench-guards: $(STAMP) ## how long a hostile page (hung, alert loop, popup storm) holds a worker's slot
	$(OFFLINE) $(PY) scripts/bench_guards.py

.PHONY: report-screenshot
report-screenshot: $(STAMP) ## docs/report.png, the README's picture of a job report
	$(OFFLINE) $(PY) scripts/report_screenshot.py docs/report.png

.PHONY: bench-load
bench-load: $(STAMP) ## the local stack under 1,000 sessions from 10 tenants (--workers, --sessions)
	$(OFFLINE) $(PY) scripts/bench_load.py $(ARGS)

.PHONY: capacity
capacity: $(STAMP) ## the seed's scenarios on paper: defaults, cheapest fleet shape, docs/capacity/ plot (≈3 min)
	$(VENV)/bin/traffic-tool capacity --plot docs/capacity/spike.png --summary docs/capacity/capacity.json

.PHONY: bench
bench: bench-api bench-worker bench-guards bench-load ## every benchmark

# The worker image (needs a Docker engine; none runs on the development machines of this project).
AWS_REGION ?= $(shell aws configure get region 2>/dev/null)
AWS_ACCOUNT ?= $(shell aws sts get-caller-identity --query Account --output text 2>/dev/null)
ECR_REPO ?= traffic-tool-worker
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
TAG ?= v$(VERSION)-$(shell git rev-parse --short HEAD)
REGISTRY = $(AWS_ACCOUNT).dkr.ecr.$(AWS_REGION).amazonaws.com
STACK ?= traffic-tool-dev

IMAGE_TARGET ?= headless

.PHONY: image
image: ## docker build the headless worker image (linux/amd64) as $(ECR_REPO):vX.Y.Z-<sha>
	docker build --platform linux/amd64 --target $(IMAGE_TARGET) -f worker/Dockerfile -t $(ECR_REPO):$(TAG) .

.PHONY: image-headful
image-headful: ## docker build the headful variant (full chromium, Xvfb) as $(ECR_REPO):vX.Y.Z-<sha>-headful
	$(MAKE) image IMAGE_TARGET=headful TAG=$(TAG)-headful

.PHONY: push-headful
push-headful: ## push the headful variant (tag vX.Y.Z-<sha>-headful); prints its WorkerImageUri by digest
	$(MAKE) push IMAGE_TARGET=headful TAG=$(TAG)-headful

.PHONY: push
push: image ## push the worker image to ECR (immutable tags, lifecycle policy); prints WorkerImageUri by digest
	@git diff --quiet HEAD -- || { echo "error: uncommitted changes; the tag $(TAG) names a commit"; exit 1; }
	aws ecr describe-repositories --repository-names $(ECR_REPO) >/dev/null 2>&1 || \
	  aws ecr create-repository --repository-name $(ECR_REPO) --image-tag-mutability IMMUTABLE \
	    --image-scanning-configuration scanOnPush=true >/dev/null
	aws ecr put-image-tag-mutability --repository-name $(ECR_REPO) --image-tag-mutability IMMUTABLE >/dev/null
	aws ecr put-lifecycle-policy --repository-name $(ECR_REPO) \
	  --lifecycle-policy-text file://worker/ecr-lifecycle.json >/dev/null
	aws ecr get-login-password | docker login --username AWS --password-stdin $(REGISTRY)
	docker tag $(ECR_REPO):$(TAG) $(REGISTRY)/$(ECR_REPO):$(TAG)
	docker push $(REGISTRY)/$(ECR_REPO):$(TAG)
	@echo "WorkerImageUri=$(REGISTRY)/$(ECR_REPO)@$$(aws ecr describe-images --repository-name $(ECR_REPO) \
	  --image-ids imageTag=$(TAG) --query 'imageDetails[0].imageDigest' --output text)"

.PHONY: account-check
account-check: ## first deploy step: quotas (Lambda, Fargate vCPU) and the ECS service-linked role
	scripts/check-account.sh

.PHONY: rollback
rollback: ## redeploy the previous worker image digest of STACK (default traffic-tool-dev), wait until steady
	scripts/rollback.sh $(STACK)

.PHONY: drill
drill: $(STAMP) ## disaster-recovery drill on the local stack: Redis failover, stack re-created; prints RPO/RTO
	$(OFFLINE) $(PY) scripts/dr_drill.py $(ARGS)

.PHONY: clean
clean: ## remove build output and caches (keeps the virtualenv)
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache
