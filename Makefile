# learnpath: the two commands that matter are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

include hack/controlplane.mk

CARGO ?= cargo

.PHONY: help build crds fmt-check lint unit e2e test demo

help:
	@echo "make demo   - build, start a local control plane, run the operator on the examples, print a roadmap"
	@echo "make test   - fmt, clippy, unit, property and end-to-end tests on a real kube-apiserver + etcd"
	@echo "make cluster / cluster-down - a local control plane for your own experiments"
	@echo "make crds   - regenerate crds/ from the Rust types"

build:
	$(CARGO) build --locked

crds: build
	target/debug/learnpath crd --out-dir crds

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

# Everything CI runs. The control plane is built first (a no-op when cached) so that the
# end-to-end tests never find it missing; they fail, never skip, when it cannot start.
test: controlplane flux fmt-check lint
	LEARNPATH_CACHE=$(CACHE) $(CARGO) test --locked --all-targets

demo: controlplane build
	LEARNPATH_CACHE=$(CACHE) hack/demo.sh

# Flux's source-, kustomize- and helm-controller (pins: hack/flux/versions.env) and the loopback
# Git server for tests/e2e/flux.rs, cached like the control plane; a no-op when cached.
.PHONY: flux
flux:
	@LEARNPATH_CACHE=$(CACHE) hack/build-flux.sh

# --- Helm chart and container image (charts/learnpath, Dockerfile) ----------------------------
# The chart's checks (lint, render, schema, CRD drift, install on the real control plane, RBAC
# allowlist, upgrade/uninstall) are tests/e2e/helm.rs, so `make test` runs them.
.PHONY: image chart-crds helm-lint helm-test

# The container image with docker or podman; without an engine, the static musl binary it packages.
image:
	hack/image.sh

# Regenerate charts/learnpath/templates/crds from the Rust types (as `make crds` does for crds/);
# `make crds` does both.
chart-crds: build
	hack/chart-crds.sh target/debug/learnpath

crds: chart-crds

helm-lint: controlplane
	$(HELM) lint --strict charts/learnpath
	$(HELM) lint --strict charts/learnpath -f charts/learnpath/ci/all-values.yaml

# Only the chart's end-to-end tests.
helm-test: controlplane
	LEARNPATH_CACHE=$(CACHE) $(CARGO) test --locked --test e2e helm::

# --- Benchmarks (docs/performance.md) ---------------------------------------------------------
# Planner micro-benchmarks (criterion), then the scale harness at 1,000 / 5,000 / 10,000 learners
# on its own control plane with etcd fsync on. `make test` runs the same harness at N=200.
.PHONY: bench
bench: controlplane
	$(CARGO) bench --locked --bench planner
	LEARNPATH_CACHE=$(CACHE) LEARNPATH_SCALE_SIZES=$${LEARNPATH_SCALE_SIZES:-1000,5000,10000} \
		LEARNPATH_SCALE_IDLE_SECS=$${LEARNPATH_SCALE_IDLE_SECS:-60} \
		$(CARGO) test --locked --release --test scale -- --nocapture
