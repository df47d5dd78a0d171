# The two Quick start commands (see README.md). Each installs what it needs and is idempotent.
SHELL := /bin/bash
HATCH = $(shell scripts/ensure-hatch.sh)

.PHONY: node test lint env system

system:
	@scripts/ensure-system.sh

env: system
	@$(HATCH) env create >/dev/null

# Run the development node in the foreground (`zos node up`; ARGS="--state DIR" picks its state
# folder, default /var/lib/zos-dev). Ctrl-C stops it and removes what it started.
node: env
	@$(HATCH) run zos node up $(ARGS)

# Every test of every package, app and the integration tests, plus ruff and mypy.
test: env
	@$(HATCH) run lint
	@$(HATCH) run pytest $(ARGS)

lint: env
	@$(HATCH) run lint
