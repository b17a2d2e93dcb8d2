# Everything a fresh clone needs: `make run` to try it, `make test` to check it.
PYTHON ?= python3
# A step piped into `tee` fails the target when the step fails.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

DIRECTORY_STAMP := $(VENV)/.directory-$(shell cat requirements-directory.txt | cksum | cut -d' ' -f1)

.PHONY: install install-directory run run-directory serve cluster test bench load messages lint format check clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing pinned dependencies into $(VENV)…"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@scripts/argon2_for_this_cpu.sh $(BIN)
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The directory extra: python-ldap needs the OpenLDAP client headers (libldap2-dev, libsasl2-dev).
$(DIRECTORY_STAMP): $(STAMP) requirements-directory.txt
	@echo "Installing the directory extra (python-ldap, django-auth-ldap)…"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-directory.txt \
		|| { echo "python-ldap did not build: apt-get install libldap2-dev libsasl2-dev"; exit 1; }
	@rm -f $(VENV)/.directory-*
	@touch $@

install-directory: $(DIRECTORY_STAMP)

# The demo is served and linked by name: browsers refuse passkeys on an IP address, so the
# default 127.0.0.1 becomes localhost. SSPR_SITE_URL (every link, the passkey domain and origin)
# follows HOST and PORT.
RUN_HOST := $(if $(filter 127.0.0.1,$(HOST)),localhost,$(HOST))
RUN_URL := http://$(RUN_HOST):$(PORT)

run: install
	@DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput -v 0 && echo "Database ready."
	@DJANGO_DEBUG=1 SSPR_SITE_URL=$(RUN_URL) $(BIN)/python manage.py seed_demo --address $(RUN_URL)
	DJANGO_DEBUG=1 SSPR_SITE_URL=$(RUN_URL) $(BIN)/python manage.py runserver $(RUN_HOST):$(PORT)

# The site against a throw-away OpenLDAP (slapd with the password policy overlay) on loopback,
# with demo people whose sign-ins are printed. Needs slapd (apt-get install slapd ldap-utils).
run-directory: install-directory
	@DJANGO_DEBUG=1 $(BIN)/python manage.py run_directory_demo --address $(RUN_HOST):$(PORT)

# Production serving: gunicorn (WORKERS, default 3 with REDIS_URL, else 1), the message worker
# when Redis is configured, static files through whitenoise, settings from the environment.
serve: install
	@HOST=$(HOST) PORT=$(PORT) scripts/serve.sh

# Several hosts on one machine (scripts/cluster.py): haproxy in front of three gunicorn hosts on
# 127.0.0.2-4, two RQ workers, a throw-away PostgreSQL and Redis; prints the balancer's address.
# Needs haproxy, postgresql and redis-server (apt-get install haproxy postgresql redis-server).
cluster: install
	@$(BIN)/python scripts/cluster.py

# Benchmarks at 1,000 and 100,000 users, on SQLite and (when installed) PostgreSQL; the lists and
# the stale sweep at 1,000 and 1,000,000 people on PostgreSQL; the directory sync against a slapd
# of 10,000 and 100,000 people; every page against a bare view and the phone setup against
# django-two-factor-auth. Written to docs/benchmarks.md (about eight minutes).
bench: install-directory
	@mkdir -p var
	@$(BIN)/python benchmarks/run.py | tee var/bench-sqlite.md
	@scripts/with-services.sh $(BIN)/python benchmarks/run.py | tee var/bench-postgresql.md
	@scripts/with-services.sh $(BIN)/python benchmarks/scale.py | tee var/bench-scale.md
	@$(BIN)/python benchmarks/enumeration.py | tee var/bench-enumeration.md
	@scripts/with-services.sh $(BIN)/python benchmarks/directory_sync.py | tee var/bench-directory.md
	@$(BIN)/python benchmarks/password_life.py | tee var/bench-password-life.md
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --upgrade \
		--target var/peer-lib -r requirements-bench.txt
	@$(BIN)/python benchmarks/phone_setup.py | tee var/bench-phone.md
	@scripts/with-services.sh env -u REDIS_URL BENCH_FLOORS=0 $(BIN)/python \
		benchmarks/phone_setup.py | tee var/bench-phone-postgresql.md
	@$(BIN)/python benchmarks/report.py var/bench-sqlite.md var/bench-postgresql.md \
		var/bench-scale.md var/bench-enumeration.md var/bench-directory.md \
		var/bench-password-life.md var/bench-phone.md var/bench-phone-postgresql.md \
		> docs/benchmarks.md
	@echo "Written to docs/benchmarks.md"

# The site under load (not part of `make test`): `make serve` on a throw-away PostgreSQL and Redis,
# 200 simulated people registering and 50 resetting (Locust, in its own environment), then the
# reset portal's first page against a bare view. Written to docs/load.md.
LOAD_STAMP := var/load-venv/.installed-$(shell cat requirements-load.txt | cksum | cut -d' ' -f1)

$(LOAD_STAMP): requirements-load.txt
	@mkdir -p var
	@test -x var/load-venv/bin/python || $(PYTHON) -m venv var/load-venv
	@echo "Installing Locust into var/load-venv…"
	@var/load-venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-load.txt
	@rm -f var/load-venv/.installed-*
	@touch $@

load: install $(LOAD_STAMP)
	@scripts/with-services.sh $(BIN)/python benchmarks/load/run.py

# Every language of settings.LANGUAGES but English (the source), as its folder in locale/.
LOCALES := de fr es it pt_BR nl pl ja ar

# Refresh every catalogue after changing user-facing text (needs GNU gettext), set each one's
# plural rule (scripts/plural_forms.py), then translate the new entries in
# locale/<language>/LC_MESSAGES/django.po and run it again to compile.
messages: install
	$(BIN)/python manage.py makemessages $(foreach l,$(LOCALES),-l $(l)) --ignore=.venv \
		--ignore=tests --ignore=benchmarks --ignore=staticfiles --ignore=var --ignore=test-artifacts
	$(BIN)/python scripts/plural_forms.py locale
	$(BIN)/python manage.py compilemessages $(foreach l,$(LOCALES),-l $(l)) --ignore=.venv --ignore=var

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# Two passes: SQLite with the local-memory cache (and the browser tests, the timing test and the
# Active Directory tests), then the suite again on PostgreSQL and Redis started on loopback by
# scripts/with-services.sh. The OpenLDAP tests start their own slapd in both.
test: lint check install-directory
	$(BIN)/python -m pytest -m "not postgres and not redis" $(PYTEST_ARGS)
	@scripts/with-services.sh $(BIN)/python -m pytest -m "not browser and not timing and not samba" \
		$(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
