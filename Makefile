# memwise.linux developer entry points. `make help` lists the targets.
#
# Everything runs from a pinned virtualenv (.venv, from tests/requirements.txt)
# and sees this checkout as the collection memwise.linux through
# .build/collections/ansible_collections/memwise/linux (a symlink), so nothing
# is installed by hand. VMs come from tests/vm/vmctl.py; every target that
# boots VMs runs under `vmctl.py session`, which stops them when the target
# ends or is killed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.memwise-installed
BUILD := $(CURDIR)/.build
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/memwise/linux
VMCTL := $(BIN)/python tests/vm/vmctl.py
# Runs a command whose VMs die with it, and with make ($$PPID of the recipe shell).
VMSESSION = $(VMCTL) session --watch-pid $$PPID --
# Scenarios for `make integration`: all of extensions/molecule/*/ by default, but
# smoke: the harness's own scenario, which `make harness` starts (and kills) and
# which the module scenarios cover (FACTS_MODULES in memory_facts, an extra disk
# in swap, reboots in most); run it with SCENARIOS=smoke. And memory_policy (three
# VMs of 512 MiB to 2 GiB, with the OOM tests and a reboot): it costs about 25
# minutes under TCG, which CI's 90 minutes on 2 cores cannot hold beside the
# module scenarios yet; run it with SCENARIOS=memory_policy.
NOT_DEFAULT := smoke memory_policy
SCENARIOS ?= $(filter-out $(NOT_DEFAULT),$(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml)))))
# `make demo KEEP=1` leaves the demo VMs running (stop them with `make demo-down`).
KEEP ?= 0
DEMO_STATE := $(BUILD)/demo

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOST_KEY_CHECKING := false
export ANSIBLE_PIPELINING := true
export ANSIBLE_NOCOLOR ?= $(if $(CI),1,)
export PY_COLORS ?= $(if $(CI),0,1)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help host-packages venv collection demo demo-down test lint sanity units harness integration \
        docs build bench images vm-up vm-down clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The Debian packages of tests/host-packages.txt (qemu, debootstrap, ...), installed
# when missing: as root, through passwordless sudo, or the exact apt command is printed.
host-packages: ## Install the missing Debian packages the demo and the tests need
	tests/tools/host_packages.sh

$(STAMP): tests/requirements.txt | host-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

venv: $(STAMP) ## Create .venv from the pinned requirements

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

collection: $(STAMP) $(COLLECTION_LINK)

demo: collection images ## Boot a Debian 12 + 13 fleet, run what the collection offers, report
	$(VMSESSION) tests/demo/run.sh "$(DEMO_STATE)" "$(KEEP)"

demo-down: ## Stop the VMs a `make demo KEEP=1` left running
	$(VMCTL) down --state-dir $(DEMO_STATE)

# Each step and each scenario is timed (tests/tools/timed.py) and the table printed
# at the end, passed or failed.
TIMINGS := $(BUILD)/test-timings.tsv
TIMED = $(PYTHON) tests/tools/timed.py run $(TIMINGS)
TEST_STEPS := lint sanity units docs build harness integration

test: collection ## Everything CI runs: lint, sanity, units, docs, build, VM tests (with a table of durations)
	@rm -f $(TIMINGS)
	@rc=0; for step in $(TEST_STEPS); do \
	  if [ $$step = integration ]; then $(MAKE) --no-print-directory integration TIMINGS_ON=1 || { rc=$$?; break; }; \
	  else $(TIMED) $$step -- $(MAKE) --no-print-directory $$step || { rc=$$?; break; }; fi; \
	done; \
	$(PYTHON) tests/tools/timed.py table $(TIMINGS); \
	if [ $$rc -eq 0 ]; then echo "make test: all checks passed"; else echo "make test: FAILED"; fi; \
	exit $$rc

lint: collection ## ansible-lint (production profile), ruff, changelog and docs lint
	ansible-lint --profile production
	ruff check plugins tests benchmarks
	ruff format --check plugins tests benchmarks
	antsibull-changelog lint
	antsibull-docs lint-collection-docs --plugin-docs .

sanity: collection ## ansible-test sanity (offline) on a staged copy under ansible_collections/
	$(BIN)/python tests/tools/sanity.py --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

units: collection ## pytest over captured fixtures (tests/unit), the VM harness' pure logic, the fleet simulator
	PYTHONPATH=$(COLLECTIONS) pytest -q -n 2 -p no:cacheprovider tests/unit tests/vm/test_vmctl.py tests/fleet/test_fleetctl.py

harness: collection images ## Kill `make integration` halfway and prove no qemu or overlay is left
	pytest -q -p no:cacheprovider tests/vm/test_kill.py

# A failed scenario does not stop the others (the table at the end shows them all);
# a killed run (exit status 128 and above: a signal) stops at once.
integration: collection images ## Every Molecule scenario on real VMs (SCENARIOS="smoke ..." to pick)
	@failed=""; for s in $(SCENARIOS); do \
	  if [ -n "$(TIMINGS_ON)" ]; then $(TIMED) "scenario $$s" -- $(VMSESSION) molecule test -s $$s; \
	  else echo "== molecule test -s $$s"; $(VMSESSION) molecule test -s $$s; fi || { \
	    rc=$$?; if [ $$rc -ge 128 ]; then exit $$rc; fi; failed="$$failed $$s"; }; \
	done; \
	if [ -n "$$failed" ]; then echo "integration: failed scenario(s):$$failed"; exit 1; fi

images: collection ## Build (or reuse) the cached Debian 12 and 13 base images
	$(VMCTL) image --release bookworm --release trixie

docs: collection ## Build the collection docs (antsibull-docs + Sphinx) into docs/_build/html
	tests/tools/build_docs.sh

build: collection ## ansible-galaxy collection build, then check the tarball's contents
	rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	ansible-galaxy collection build --force --output-path $(BUILD)/dist .
	$(BIN)/python tests/tools/check_tarball.py $(BUILD)/dist/memwise-linux-*.tar.gz

bench: collection images ## Benchmarks (BENCH="facts sysctl unit_resources vm_harness suite policy fleet"); results in benchmarks/results
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt  # the baselines (ansible.posix), benchmarks only
	$(VMSESSION) $(BIN)/python benchmarks/run.py $(BENCH)

vm-up: collection images ## Boot VMs for debugging: make vm-up VMS="dev12:bookworm dev13:trixie"
	$(VMCTL) up --state-dir $(BUILD)/vms $(foreach v,$(or $(VMS),dev12:bookworm dev13:trixie),--vm $(v))
	@echo "inventory: $(BUILD)/vms/inventory.yml (make vm-down stops the VMs)"

vm-down: ## Stop the VMs of `make vm-up`
	$(VMCTL) down --state-dir $(BUILD)/vms

clean: ## Remove build output (keeps .venv and the VM image cache)
	rm -rf $(BUILD)/dist $(BUILD)/sanity $(BUILD)/docsite docs/_build tests/output
