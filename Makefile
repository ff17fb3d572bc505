# Shortcuts for the project's scripts (the scripts are the source of truth).
#   make demo | test | e2e | setup | bench | check-deploy | services | services-stop
#   make test ARGS="-k poll -x"
SHELL := /bin/bash
PY := .venv/bin/python
ARGS ?=

.PHONY: demo test e2e setup bench check-deploy services services-stop

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh $(ARGS)

e2e:
	bash scripts/test.sh -m e2e $(ARGS)

setup:
	bash scripts/setup.sh

bench:
	@if [ -f scripts/bench.sh ]; then bash scripts/bench.sh $(ARGS); \
	else echo "scripts/bench.sh does not exist yet"; fi

# Django's deployment checklist against the production switches (see companion/settings.py).
check-deploy:
	bash scripts/setup.sh --no-migrate
	DEBUG=0 COMPANION_PRODUCTION=1 ALLOWED_HOSTS=example.com \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	$(PY) manage.py check --deploy --fail-level WARNING

# Long-lived private Redis + PostgreSQL for running pytest by hand:
#   make services && eval "$$(scripts/services.sh env)" && .venv/bin/python -m pytest -k poll
services:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop
