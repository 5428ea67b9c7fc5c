# Local Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager)
# built from pinned Go modules. Include from the top-level Makefile:
#
#   include hack/controlplane.mk
#
# Targets: controlplane (build/cached binaries), prometheus (server + promtool), cluster
# (start or reuse a local control plane, prints the KUBECONFIG export), cluster-down,
# controlplane-gen (regenerate the k8s wrapper module after bumping K8S_VERSION).
# Override CACHE or CLUSTER_DIR on the command line, e.g. make cluster CLUSTER_DIR=/tmp/cp.

# Directory of this fragment, so it works whatever the includer's location.
CONTROLPLANE_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

# Pins (K8S_VERSION, ETCD_VERSION, HELM_VERSION): shared with the shell scripts.
include $(CONTROLPLANE_HACK)/versions.env

CACHE ?= $(HOME)/.cache/learnpath
CLUSTER_DIR ?= $(CACHE)/cluster

# Absolute paths of the cached binaries, for other targets (they exist only
# after `make controlplane`).
CONTROLPLANE_K8S_BIN = $(CACHE)/bin/k8s-$(K8S_VERSION)
KUBECTL ?= $(CONTROLPLANE_K8S_BIN)/kubectl
KUBE_APISERVER ?= $(CONTROLPLANE_K8S_BIN)/kube-apiserver
KUBE_CONTROLLER_MANAGER ?= $(CONTROLPLANE_K8S_BIN)/kube-controller-manager
ETCD ?= $(CACHE)/bin/etcd-$(ETCD_VERSION)/etcd
HELM ?= $(CACHE)/bin/helm-$(HELM_VERSION)/helm
PROMETHEUS ?= $(CACHE)/bin/prometheus-$(PROMETHEUS_VERSION)/prometheus
PROMTOOL ?= $(CACHE)/bin/prometheus-$(PROMETHEUS_VERSION)/promtool

# The scripts read the cache root from the environment.
CONTROLPLANE_ENV = LEARNPATH_CACHE=$(CACHE)

.PHONY: controlplane controlplane-gen cluster cluster-node cluster-down prometheus node

# Always runs the script: it is a sub-second no-op when the pinned versions are
# already cached, and make cannot see the cache/pin relationship by itself.
controlplane: ## build (or find cached) kube-apiserver, kube-controller-manager, kubectl, etcd, helm
	@$(CONTROLPLANE_ENV) $(CONTROLPLANE_HACK)/build-controlplane.sh

# Prometheus and promtool for the end-to-end tests (a real server; `promtool test rules`), built
# like the control plane; a no-op when cached.
prometheus: ## build (or find cached) the Prometheus server and promtool (pin in hack/versions.env)
	@$(CONTROLPLANE_ENV) $(CONTROLPLANE_HACK)/build-prometheus.sh

controlplane-gen: ## regenerate the k8s wrapper module after bumping K8S_VERSION
	$(CONTROLPLANE_HACK)/gen-k8s-wrapper.sh

cluster: controlplane ## start (or reuse) a local control plane; prints the KUBECONFIG export
	@$(CONTROLPLANE_ENV) $(CONTROLPLANE_HACK)/cluster.sh up $(CLUSTER_DIR)

# The node's containerd (Go module) and pause (C, from the Kubernetes module), and kube-score (the
# chart checker of tests/e2e/helm), cached like the control plane; runc, the CNI plugins,
# iptables, conntrack and skopeo (the image tests' OCI reader) from Debian when missing.
node: controlplane ## build (or find cached) the local node (containerd, pause) and kube-score; runc and CNI from Debian
	@$(CONTROLPLANE_ENV) $(CONTROLPLANE_HACK)/build-controlplane.sh containerd pause kube-score
	@$(CONTROLPLANE_ENV) $(CONTROLPLANE_HACK)/node.sh install

cluster-node: node ## start (or reuse) a local control plane with a real node (root); prints the KUBECONFIG export
	@$(CONTROLPLANE_ENV) LEARNPATH_NODE=1 $(CONTROLPLANE_HACK)/cluster.sh up $(CLUSTER_DIR)

cluster-down: ## stop the local control plane (and node) of make cluster / make cluster-node
	@$(CONTROLPLANE_ENV) $(CONTROLPLANE_HACK)/cluster.sh down $(CLUSTER_DIR)
