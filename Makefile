# The two commands a newcomer types: `make demo` and `make test`.
# Every target sets up what it needs and skips what is already there.
VENV := .venv
BIN := $(VENV)/bin
SETUP_SCRIPTS := $(sort $(filter-out scripts/setup/lib.sh,$(wildcard scripts/setup/*.sh)))

.PHONY: setup demo test lint format bench serve clean

$(VENV)/.stamp-project: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

node_modules/.stamp: package.json
	npm install --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

setup: $(VENV)/.stamp-project node_modules/.stamp
	@for script in $(SETUP_SCRIPTS); do bash "$$script" || exit 1; done

demo: setup
	$(BIN)/maestro demo

test: setup
	$(BIN)/pytest

# AWS mode end to end on moto: deploy with scripts/deploy.py, then a PR's plan, the merge's
# apply and a failing deploy through the packaged functions (tests/aws_mode, a few minutes).
.PHONY: test-aws
test-aws: setup
	$(BIN)/pytest tests/aws_mode

# docs/deploy.md in one command: make deploy STAGE=prod (STEPS=controller,package for some).
.PHONY: deploy
deploy: $(VENV)/.stamp-project
	$(BIN)/python scripts/deploy.py --stage $(or $(STAGE),$(error STAGE is required: make deploy STAGE=prod)) $(if $(STEPS),--steps $(STEPS))

lint: $(VENV)/.stamp-project
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy chalicelib runners

format: $(VENV)/.stamp-project
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# schemathesis against docs/openapi.yaml with every check, many examples per operation
# (`make test` runs the same test with a few); MAESTRO_FUZZ_EXAMPLES sets how many.
.PHONY: api-fuzz
api-fuzz: setup
	MAESTRO_FUZZ_EXAMPLES=$${MAESTRO_FUZZ_EXAMPLES:-300} $(BIN)/pytest tests/functional/api/test_fuzz.py

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python "$$b" || exit 1; done

serve: setup
	$(BIN)/maestro serve

clean:
	rm -rf .maestro .cache
