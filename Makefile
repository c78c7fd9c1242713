# The two commands: `make run` (local stack with demo data) and `make test` (the whole suite).
# Each one installs what it needs first: .venv, Python packages, the CDK CLI, redis-server.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-payments.txt requirements-tokens.txt | cksum | cut -d' ' -f1)
NODE_STAMP := node_modules/.installed-$(shell cksum < package.json | cut -d' ' -f1)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-unit test-fast synth cdk-synth lint bench deploy clean system-packages fuzz load lock

run: $(STAMP) $(NODE_STAMP) system-packages ## start the local stack on 127.0.0.1:3000 with demo data
	$(PY) -m local

# The suite runs on TEST_WORKERS pytest-xdist workers (0: one process), each with its own session
# stack (--dist loadfile: a module's fixtures are built once; tests/infra/ is one unit); ADR 0034.
TEST_WORKERS ?= 2

test: $(STAMP) $(NODE_STAMP) system-packages ## the whole suite (what CI runs)
ifeq ($(TEST_WORKERS),0)
	$(PY) -m pytest
else
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile
endif

# Pure logic: no local stack, no CDK synth, no servers (moto in-process at most); seconds.
UNIT_TESTS := tests/unit tests/test_architecture.py tests/test_architecture_transactions.py tests/catalog/test_schemas.py tests/contract/test_openapi_document.py \
  tests/local/test_powertools_isolation.py tests/local/test_moto_gaps.py tests/local/test_moto_fast_paths.py tests/local/test_moto_direct_dispatch.py tests/local/test_attribute_value_parser.py tests/local/test_synth_cache.py tests/local/test_flatten.py tests/local/test_transaction_tokens.py tests/local/test_capacity_rules.py tests/local/test_lambda_runtime.py tests/payments/test_signatures.py \
  tests/payments/test_flow.py tests/orders/test_saga_decisions.py \
  tests/search/test_client.py tests/search/test_documents.py tests/search/test_replay.py \
  tests/inventory/test_stock_batch_reads.py tests/inventory/test_hold_logic.py tests/inventory/test_hold_properties.py tests/inventory/test_store_parity.py tests/cart/test_cart_logic.py

test-unit: $(STAMP) ## the pure-logic tests only (no stack; under a minute), on TEST_WORKERS workers
	$(PY) -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS)) $(UNIT_TESTS)

test-fast: $(STAMP) ## everything but the slow infra checks
	$(PY) -m pytest -m "not slow"

synth: $(STAMP) ## synthesize the CDK app into cdk.out (bundles the layer without Docker)
	$(PY) app.py

cdk-synth: $(STAMP) $(NODE_STAMP) ## the same through the CDK CLI
	npx cdk synth --quiet

deploy: $(STAMP) $(NODE_STAMP) ## deploy to the AWS account in your credentials: make deploy STAGE=prod CDK_ARGS="-c alarm_email=..."
	npx cdk deploy -c stage=$${STAGE:-dev} $(CDK_ARGS) --require-approval broadening

lock: $(STAMP) ## re-resolve the layers' lock files (hashes pinned) after editing requirements*.txt
	$(PY) -m infra.lock

lint: $(STAMP) ## ruff, and the architecture's import contracts (.importlinter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(STAMP) $(NODE_STAMP) system-packages ## benchmarks, printed as ratios measured in one run
	$(PY) -m bench

$(STAMP): requirements.txt requirements-dev.txt requirements-payments.txt requirements-tokens.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(NODE_STAMP): package.json
	@command -v node >/dev/null || { echo "error: Node.js 20+ is required (CDK synthesizes with it)"; exit 1; }
	npm install --no-audit --no-fund --silent
	@rm -f node_modules/.installed-* && touch $@

# A real Redis-protocol cache server (closest to ElastiCache). Without root or apt, the local
# stack falls back to fakeredis and says so.
system-packages:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing redis-server (Debian)"; \
	    (apt-get install -y -qq redis-server >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null)) || \
	    echo "warning: could not install redis-server; the local stack will use fakeredis"; \
	  else echo "note: redis-server not installed; the local stack will use fakeredis"; fi; }

clean:
	rm -rf cdk.out .build .pytest_cache

load: $(STAMP) $(NODE_STAMP) system-packages ## locust shopper mix against a local stack (20 users, 3 min), then the invariants: load/REPORT.md
	$(PY) -m load

# Contract fuzzing, longer than `make test` runs it: FUZZ_EXAMPLES random examples per operation
# (plus schemathesis' coverage phase) against a local stack; the document is docs/openapi.json.
fuzz: $(STAMP) $(NODE_STAMP) system-packages ## schemathesis against the local stack: make fuzz FUZZ_EXAMPLES=500
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) $(PY) -m pytest tests/contract/test_fuzz.py
