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
test: controlplane fmt-check lint
	LEARNPATH_CACHE=$(CACHE) $(CARGO) test --locked --all-targets

demo: controlplane build
	LEARNPATH_CACHE=$(CACHE) hack/demo.sh
