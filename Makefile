# The two commands of the README: `make run` installs and starts heard-local, `make test` installs
# everything the tests need and runs them.
VENV ?= .venv
ARGS ?=

.PHONY: run test install install-dev lint bench clean

install:
	bash scripts/install.sh app

install-dev:
	bash scripts/install.sh dev

run: install
	$(VENV)/bin/heard-local serve $(ARGS)

test: install-dev
	$(VENV)/bin/python -m pytest $(ARGS)

lint: install-dev
	$(VENV)/bin/ruff check heard_local tests benchmarks app.py
	$(VENV)/bin/mypy  # strict on the modules listed under [tool.mypy] in pyproject.toml

bench: install-dev
	$(VENV)/bin/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
