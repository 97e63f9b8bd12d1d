# Two commands: `make run` and `make test`. Everything else is set-up they share.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := var/demo

.PHONY: run test setup system-packages lint bench clean

run: setup
	@test -f $(DEMO)/config.yaml || $(BIN)/o2c demo --dir $(DEMO)
	@$(BIN)/o2c --config $(DEMO)/config.yaml user reset-password admin
	$(BIN)/o2c --config $(DEMO)/config.yaml serve

test: setup
	$(BIN)/ruff check engine documents web tests bench
	$(BIN)/mypy engine documents web
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

setup: system-packages $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# System packages: Tesseract with German (OCR), Pango and HarfBuzz (WeasyPrint), and
# Dovecot's IMAP server, which the tests start on loopback to test the mail intake, and
# Chromium, which the browser tests drive through Playwright (never a downloaded browser).
system-packages:
	@if command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx deu \
	   && ldconfig -p | grep -q libpango-1.0 && ldconfig -p | grep -q libharfbuzz-subset \
	   && test -x /usr/sbin/dovecot && test -x /usr/lib/dovecot/imap && test -x /usr/bin/chromium; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core dovecot-core dovecot-imapd chromium >/dev/null; \
	elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core dovecot-core dovecot-imapd chromium >/dev/null; \
	else \
	  echo "Please install: Tesseract 5 with German and English data (tesseract-ocr, tesseract-ocr-deu), Pango and HarfBuzz subset (for WeasyPrint), Dovecot with IMAP (dovecot-core, dovecot-imapd; for the tests), Chromium (chromium; for the browser tests)"; exit 1; \
	fi

lint: setup
	$(BIN)/ruff check engine documents web tests bench

bench: setup
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var
