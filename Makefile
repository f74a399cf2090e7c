# riskstrat: two commands on a fresh machine (Python 3.11 and make).
#   make demo   install, generate a synthetic landing zone, run the whole pipeline
#   make test   install and run the lint checks and the test suite (under 5 minutes on 2 cores)
#   make test-slow   the tests marked slow: end-to-end runs, browser pages, the kill harness
#                    (CI runs both: .ci/run)

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test test-slow test-fast lint benchmark clean browser

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every Python process (each pytest worker, each `riskstrat run` a test
# starts) would otherwise compile dagster, great_expectations, sklearn... from source, about
# 5-7 s of CPU each where PYTHONDONTWRITEBYTECODE is set (docs/performance.md, session 6).
$(VENV)/.synced: $(UV) pyproject.toml uv.lock Makefile
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/riskstrat demo

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint browser
	$(VENV)/bin/pytest -n 2 --dist loadfile -m "not slow"

test-slow: setup browser
	$(VENV)/bin/pytest -n 2 --dist load -m slow

# Kept for habit: the same as make test.
test-fast: test

# Headless Chromium for the risk_list.html browser test (Debian's package; installing needs
# root, as in CI). Without it the test is skipped locally, but fails when CI is set; so, for a
# user who cannot install it, this target says so on stderr and fails when CI is set.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		: ; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "make browser: error: chromium is not installed, and installing it needs root: run 'sudo make browser' (Debian's chromium package). Until then tests/lists/test_browser.py is skipped, or fails when CI is set." >&2; \
		case "$${CI:-}" in ""|0|false|False|FALSE|no) ;; *) exit 1 ;; esac; \
	fi

benchmark: setup
	$(VENV)/bin/python benchmarks/generator_benchmark.py

clean:
	rm -rf $(VENV) $(TOOLS) riskstrat-home .pytest_cache .mypy_cache .ruff_cache

# The whole pipeline against a plain pandas + LightGBM baseline; writes docs/performance.md.
# Run on a quiet machine. Zones, homes and logs stay in /tmp/riskstrat-pipeline-benchmark
# (a 1,000,000 x 36 zone alone is 5.6 GB of CSV, docs/generator.md), for --skip-generate.
.PHONY: benchmark-pipeline
BENCHMARK_SIZES ?= 100000x26,100000x36,1000000x36
benchmark-pipeline: setup
	$(VENV)/bin/python benchmarks/pipeline_benchmark.py --sizes $(BENCHMARK_SIZES) --new-month
