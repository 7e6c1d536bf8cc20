.PHONY: demo test lint install bench

PACKAGES = core oidc engine steps ui store server demo mail observe federation admin

demo:            ## install, then run the server with the demo client and user
	scripts/demo.sh

test:            ## install, then lint, type-check and run the whole test suite
	scripts/install.sh --test
	$(MAKE) --no-print-directory lint
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check $(PACKAGES) tests bench
	.venv/bin/mypy $(PACKAGES)
	.venv/bin/lint-imports --no-logo --no-cache

install:
	scripts/install.sh

bench:           ## Gatehouse side by side with node-oidc-provider (docs/benchmarks.md); BENCH_ARGS="--rounds 1"
	scripts/install.sh --test
	.venv/bin/python -m bench.compare $(BENCH_ARGS)
