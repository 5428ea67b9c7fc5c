# learnpath: the two commands that matter are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

include hack/controlplane.mk

CARGO ?= cargo

.PHONY: help build crds fmt-check lint shellcheck unit e2e test demo

# Test binaries that need no control plane (tests/*.rs at the top level): seconds, not minutes.
UNIT_TESTS ?= --lib --test planner_properties --test examples --test crds --test pictures
# Test binaries that start a real control plane (tests/<name>/main.rs, via tests/e2e/support.rs),
# or run the pinned helm and promtool (tests/alerts: the chart's alerts under `promtool test rules`).
E2E_TESTS ?= --test e2e --test signals --test signals_fetch --test drift --test faults --test scale --test alerts --test node

# Every `target: ... ## text` line of the Makefiles (this one and hack/controlplane.mk), in order;
# a target without `## text` is listed too, flagged, so that none goes unmentioned.
help: ## this list
	@echo "learnpath: the two commands that matter are make demo and make test (README.md)"
	@awk -F: '/^[A-Za-z0-9][A-Za-z0-9_.-]*:([^=]|$$)/ && $$1 != ".PHONY" { \
		doc = ""; if (match($$0, /## /)) doc = substr($$0, RSTART + 3); \
		if (!($$1 in seen)) { seen[$$1] = 1; printf "  make %-18s %s\n", $$1, (doc == "" ? "(no description)" : doc) } \
	}' $(MAKEFILE_LIST)

build: ## cargo build (debug)
	$(CARGO) build --locked

crds: build ## regenerate crds/ and the chart's CRD templates from the Rust types
	target/debug/learnpath crd --out-dir crds
	hack/chart-crds.sh target/debug/learnpath

fmt-check: ## cargo fmt --check
	$(CARGO) fmt --all -- --check

lint: ## cargo clippy on all targets, warnings are errors
	$(CARGO) clippy --locked --all-targets -- -D warnings

# `make test` lints inside its own build instead: clippy's driver compiles the workspace's crates
# (cargo's RUSTC_WORKSPACE_WRAPPER, which is how `cargo clippy` itself runs it) with the lint
# arguments of `make lint` (CLIPPY_ARGS, clippy's separator between them), while the dependencies
# are compiled by rustc as before. A separate `cargo clippy` would check every dependency once
# more: minutes on a machine with nothing cached (docs/performance.md, "Build time").
CLIPPY_IN_BUILD = RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

shellcheck: ## shellcheck every shell script (installs shellcheck when missing)
	@hack/shellcheck.sh

# The edit-compile-test loop: no control plane, no Go, nothing to start.
unit: fmt-check lint ## the fast loop: fmt, clippy, unit, property, example and CRD-drift tests
	$(CARGO) test --locked $(UNIT_TESTS)

# `make e2e` and `make test` build the tests for the static musl target (hack/musl-target.sh
# installs it): the image tests/node packs is then the test build's own `learnpath`, not a second
# build of every dependency (docs/performance.md, "Build time"). `make unit` and `make build`
# stay on the host's default target.
TEST_TARGET = $(shell uname -m)-unknown-linux-musl
TEST_CARGO = CC_$(subst -,_,$(TEST_TARGET))=musl-gcc $(CARGO)

.PHONY: musl-target
musl-target: ## install the musl target and musl-gcc when missing (the tests' and the image's build)
	@hack/musl-target.sh >/dev/null

# They fail, never skip, when the control plane cannot start.
e2e: controlplane node flux prometheus musl-target ## end-to-end tests on a real kube-apiserver + etcd (and Flux, Helm)
	LEARNPATH_CACHE=$(CACHE) $(TEST_CARGO) test --locked --target $(TEST_TARGET) $(E2E_TESTS)

# Everything CI runs. The control plane is built first (a no-op when cached) so that the
# end-to-end tests never find it missing; they fail, never skip, when it cannot start.
test: controlplane node flux prometheus musl-target fmt-check shellcheck deny fuzz-smoke ## everything CI runs (.ci/run), clippy's lints included
	LEARNPATH_CACHE=$(CACHE) $(CLIPPY_IN_BUILD) $(TEST_CARGO) test --locked --all-targets --target $(TEST_TARGET)

demo: controlplane node build ## build the image, start a local cluster with a node, helm install the operator as a Pod, reconcile the examples, print a roadmap, write the cohort report and a roadmap page (target/demo)
	LEARNPATH_CACHE=$(CACHE) hack/demo.sh

# Flux's source-, kustomize- and helm-controller (pins: hack/flux/versions.env) and the loopback
# Git server for tests/node/flux.rs, cached like the control plane; a no-op when cached.
.PHONY: flux
flux: ## build (or find cached) Flux's controllers and the test Git server
	@LEARNPATH_CACHE=$(CACHE) hack/build-flux.sh

# --- Helm chart and container image (charts/learnpath, Dockerfile) ----------------------------
# The chart's checks (lint, render, schema, CRD drift, install on the real control plane, RBAC
# allowlist, upgrade/uninstall) are tests/e2e/helm.rs, so `make test` runs them.
.PHONY: image chart-crds helm-lint helm-test

# The container image with docker or podman; without an engine, the same static musl binary packed
# as an OCI archive (target/image/oci/learnpath.tar) with its SBOM beside it.
image: ## container image (docker/podman), else the same image as an OCI archive without an engine
	hack/image.sh

# `make crds` does this too.
chart-crds: build ## regenerate only charts/learnpath/templates/crds from the Rust types
	hack/chart-crds.sh target/debug/learnpath

helm-lint: controlplane ## helm lint --strict the chart
	$(HELM) lint --strict charts/learnpath
	$(HELM) lint --strict charts/learnpath -f charts/learnpath/ci/all-values.yaml

# Only the chart's end-to-end tests.
helm-test: controlplane ## only the chart's end-to-end tests
	LEARNPATH_CACHE=$(CACHE) $(CARGO) test --locked --test e2e helm::

# --- Benchmarks (docs/performance.md) ---------------------------------------------------------
# Planner micro-benchmarks (criterion), then the scale harness at 1,000 / 5,000 / 10,000 learners
# on its own control plane with etcd fsync on. `make test` runs the same harness at N=200.
.PHONY: bench
bench: controlplane ## planner micro-benchmarks, then the scale harness at 1k/5k/10k learners
	$(CARGO) bench --locked --bench planner
	$(CARGO) bench --locked --bench report
	LEARNPATH_CACHE=$(CACHE) LEARNPATH_SCALE_SIZES=$${LEARNPATH_SCALE_SIZES:-1000,5000,10000} \
		LEARNPATH_SCALE_IDLE_SECS=$${LEARNPATH_SCALE_IDLE_SECS:-60} \
		$(CARGO) test --locked --release --test scale -- --nocapture

# --- Pictures (tests/pictures) -----------------------------------------------------------------
# The README's screenshots: the browser tests render the backend engineer's roadmap and the
# example learners' cohort report in headless Chromium (hack/chromium.sh installs Debian's
# chromium when it is missing) and write target/pictures/*.png; this copies them to docs/images/.
.PHONY: pictures
pictures: ## regenerate docs/images/ (roadmap and cohort screenshots, headless Chromium)
	$(CARGO) test --locked --test pictures
	mkdir -p docs/images
	cp $${CARGO_TARGET_DIR:-target}/pictures/roadmap.png $${CARGO_TARGET_DIR:-target}/pictures/cohort.png docs/images/

# --- Fuzzing and dependency policy (fuzz/, deny.toml) -----------------------------------------
# cargo-fuzz and cargo-deny are pinned in hack/tools.sh and installed from crates.io into
# $(CACHE)/tools on first use (a no-op when cached), so a fresh machine needs nothing by hand.
# Fuzzing needs the NIGHTLY toolchain (`cargo +nightly fuzz`: libFuzzer's coverage flags are
# unstable); it is installed on this project's machines (rustup toolchain `nightly`).
# Builds: release, overflow checks and debug assertions on (-a), no sanitizer (the crate and the
# targets are safe Rust: panics, overflows, hangs and memory blow-ups are what they look for).
# Crashes land in fuzz/artifacts/<target>/; reproduce one with (fuzz/README.md has more)
#   PATH=$(dirname $(hack/tools.sh cargo-fuzz)):$PATH cargo +nightly fuzz run --sanitizer none --debug-assertions <target> <file>
.PHONY: fuzz fuzz-smoke fuzz-build fuzz-cmin deny

FUZZ_TOOLCHAIN ?= +nightly
FUZZ_TARGETS ?= planner plan_yaml
FUZZ_BUILD_FLAGS ?= --sanitizer none --debug-assertions
# The smoke run builds without optimisations (cargo's dev profile: debug assertions and overflow
# checks on): for 20 s per target the executions lost count less than the minutes a cold optimised
# build of every dependency costs (docs/performance.md, "Build time").
FUZZ_SMOKE_FLAGS ?= --sanitizer none --dev
# `make fuzz`: seconds per target (FUZZ_SECONDS=3600 make fuzz for a long run).
FUZZ_SECONDS ?= 600
# `make fuzz-smoke` (part of `make test`): seconds per target.
FUZZ_SMOKE_SECONDS ?= 20
# New inputs found by a run go to a scratch corpus under fuzz/target (not committed), read
# together with the committed seeds in fuzz/corpus/<target>.
FUZZ_SCRATCH ?= fuzz/target/corpus
FUZZ_LIBFUZZER_FLAGS ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_CARGO = env PATH="$$(dirname "$$(LEARNPATH_CACHE=$(CACHE) hack/tools.sh cargo-fuzz)"):$$PATH" \
	$(CARGO) $(FUZZ_TOOLCHAIN) fuzz

fuzz-build: ## build the fuzz targets (nightly toolchain)
	@$(CARGO) $(FUZZ_TOOLCHAIN) --version >/dev/null 2>&1 || { \
		echo "fuzz: the Rust toolchain '$(FUZZ_TOOLCHAIN)' is missing (rustup toolchain install nightly)" >&2; exit 1; }
	$(FUZZ_CARGO) build $(FUZZ_BUILD_FLAGS)

# Every target on its committed corpus for FUZZ_SMOKE_SECONDS; any crash fails (and prints the
# end of libFuzzer's log: the panic, and where the crashing input was written).
fuzz-smoke: ## every fuzz target for FUZZ_SMOKE_SECONDS (part of make test)
	@$(CARGO) $(FUZZ_TOOLCHAIN) --version >/dev/null 2>&1 || { \
		echo "fuzz: the Rust toolchain '$(FUZZ_TOOLCHAIN)' is missing (rustup toolchain install nightly)" >&2; exit 1; }
	$(FUZZ_CARGO) build $(FUZZ_SMOKE_FLAGS)
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_SCRATCH)/$$t; log=$(FUZZ_SCRATCH)/smoke-$$t.log; \
		dict=; if [ -f fuzz/dict/$$t.dict ]; then dict=-dict=fuzz/dict/$$t.dict; fi; \
		if $(FUZZ_CARGO) run $(FUZZ_SMOKE_FLAGS) $$t $(FUZZ_SCRATCH)/$$t fuzz/corpus/$$t -- \
			-max_total_time=$(FUZZ_SMOKE_SECONDS) $(FUZZ_LIBFUZZER_FLAGS) $$dict >$$log 2>&1; then \
			echo "fuzz-smoke: $$t ok for $(FUZZ_SMOKE_SECONDS) s:" \
				$$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' $$log | tr '\n' ' '); \
		else \
			tail -n 60 $$log >&2; \
			echo "fuzz-smoke: $$t FAILED; full log $$log, input in fuzz/artifacts/$$t/" >&2; exit 1; \
		fi; \
	done

# The long run: one target after the other, niced, one libFuzzer process on one core (no -jobs:
# that forks workers that log to fuzz-N.log in the current directory).
fuzz: fuzz-build ## the long fuzz run, FUZZ_SECONDS per target
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_SCRATCH)/$$t; \
		dict=; if [ -f fuzz/dict/$$t.dict ]; then dict=-dict=fuzz/dict/$$t.dict; fi; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		nice -n 10 $(FUZZ_CARGO) run $(FUZZ_BUILD_FLAGS) $$t $(FUZZ_SCRATCH)/$$t fuzz/corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) $(FUZZ_LIBFUZZER_FLAGS) $$dict; \
	done

# Rebuild the committed corpora from themselves plus a run's scratch corpus: the seed-* and
# finding-* files stay, plus the fewest other inputs of at most FUZZ_CMIN_MAX_BYTES that reach
# every edge those reach (libFuzzer's set-cover merge on edges alone: a corpus of well under 2 MB).
FUZZ_CMIN_MAX_BYTES ?= 2048
fuzz-cmin: fuzz-build ## minimise the committed fuzz corpora
	@set -e; for t in $(FUZZ_TARGETS); do \
		old=$(FUZZ_SCRATCH)/cmin-$$t; rm -rf $$old $$old-small; mkdir -p $$old $$old-small $(FUZZ_SCRATCH)/$$t; \
		mv fuzz/corpus/$$t/* $$old/; cp $$old/seed-* $$old/finding-* fuzz/corpus/$$t/ 2>/dev/null || true; \
		for d in $$old $(FUZZ_SCRATCH)/$$t; do \
			find $$d -type f -size -$$(($(FUZZ_CMIN_MAX_BYTES) + 1))c -exec cp -f -t $$old-small/ {} +; \
		done; \
		$(FUZZ_CARGO) run $(FUZZ_BUILD_FLAGS) $$t fuzz/corpus/$$t $$old-small -- \
			-set_cover_merge=1 -use_counters=0 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || true; \
		echo "fuzz-cmin: $$t: $$(ls fuzz/corpus/$$t | wc -l) files, $$(du -sb fuzz/corpus/$$t | cut -f1) bytes"; \
	done

# Licenses, bans and sources always; advisories only against a RustSec database already on disk
# (it lives on GitHub, which this network cannot reach: `cargo deny fetch` where it can). The
# database is then not updated (cargo-deny 0.20's `--offline`, formerly `check --disable-fetch`),
# and cargo-deny refuses one older than 90 days.
ADVISORY_DBS = $${CARGO_HOME:-$$HOME/.cargo}/advisory-dbs
DENY_CARGO = env PATH="$$(dirname "$$(LEARNPATH_CACHE=$(CACHE) hack/tools.sh cargo-deny)"):$$PATH" \
	$(CARGO) deny --locked
deny: ## cargo deny: licenses, bans, sources (advisories with a local database)
	$(DENY_CARGO) check --hide-inclusion-graph licenses bans sources
	@if ls -d $(ADVISORY_DBS)/*/crates >/dev/null 2>&1; then \
		echo "deny: advisories against the local database in $(ADVISORY_DBS) (not updated)"; \
		$(DENY_CARGO) --offline check --hide-inclusion-graph advisories; \
	else \
		echo "deny: advisories SKIPPED: no RustSec advisory database in $(ADVISORY_DBS) (it cannot be fetched here)"; \
	fi

# --- Faults (tests/faults) ---------------------------------------------------------------------
# `make test` runs every fault once with 60 learners. `make chaos`: 2,000 learners on their own
# control plane, a fault every 30 s for 10 minutes (API server or etcd killed during a fan-out,
# leader killed or terminated, forced re-list, Track deleted and restored), then the independent
# checker (`learnpath check`) must find every LearningPath right.
.PHONY: chaos
chaos: controlplane ## 2,000 learners, a fault every 30 s for 10 minutes, then learnpath check
	LEARNPATH_CACHE=$(CACHE) LEARNPATH_CHAOS_N=$${LEARNPATH_CHAOS_N:-2000} \
		LEARNPATH_CHAOS_SECS=$${LEARNPATH_CHAOS_SECS:-600} \
		LEARNPATH_CHAOS_INTERVAL_SECS=$${LEARNPATH_CHAOS_INTERVAL_SECS:-30} \
		$(CARGO) test --locked --release --test faults -- --ignored --nocapture chaos
