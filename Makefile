.PHONY: demo test install

demo:            ## install, then run the server with the demo client and user
	scripts/demo.sh

test:            ## install, then run the whole test suite
	scripts/install.sh --test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

install:
	scripts/install.sh
