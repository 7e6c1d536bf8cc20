.PHONY: demo test lint install bench lock

PACKAGES = core oidc engine steps ui store server demo mail observe federation admin

demo:            ## install, then run the server with the demo client and user
	scripts/demo.sh

# The suite mostly waits on the servers and browsers it starts: four processes share two cores
# well. Each test file runs whole in one of them (its module fixtures start once).
TEST_WORKERS ?= 4

test:            ## install, then lint, type-check and run the whole test suite
	scripts/install.sh --test
	$(MAKE) --no-print-directory lint
	.venv/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check $(PACKAGES) tests bench
	.venv/bin/mypy $(PACKAGES)
	.venv/bin/lint-imports --no-logo --no-cache

install:
	scripts/install.sh

# The locked versions, with hashes, that scripts/install.sh installs: refresh after changing the
# dependencies in pyproject.toml (tests/server/test_lock_files.py checks they agree).
LOCK = .venv/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --quiet
lock:            ## refresh requirements/app.lock and requirements/test.lock from pyproject.toml
	$(LOCK) -o requirements/app.lock
	$(LOCK) --extra test -o requirements/test.lock

bench:           ## Gatehouse side by side with node-oidc-provider (docs/benchmarks.md); BENCH_ARGS="--rounds 1"
	scripts/install.sh --test
	.venv/bin/python -m bench.compare $(BENCH_ARGS)
