# Two commands on a fresh machine: `make run` and `make test`. Everything else is bootstrapped here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint anvil contracts bench clean client

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The Python client (clients/python), tested with the server; [dev] regenerates it from the OpenAPI document.
	$(BIN)/pip install --quiet -e 'clients/python[dev]'
	touch $(STAMP)

# `make run CHAIN=anvil`: the same server against a local anvil node with test USDC (docs/evm.md).
run: $(STAMP)
ifeq ($(CHAIN),anvil)
	$(BIN)/python -m oms.chain.devnode
else
	$(BIN)/oms migrate
	$(BIN)/oms bootstrap
	$(BIN)/oms serve
endif

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Regenerate the Python client's models and operations from this revision's OpenAPI document.
client: $(STAMP)
	$(BIN)/python clients/python/codegen.py --this-repository

# The local EVM node (npm package) and the test token's compiled artifact.
anvil:
	bash tools/install-anvil.sh

contracts:
	bash contracts/build.sh

clean:
	rm -rf $(VENV) .oms .tools
