//go:build tools

// Package wrapper pins Flux's source-, kustomize- and helm-controller (hack/flux/versions.env),
// built by hack/build-flux.sh. The tools tag keeps this file out of builds (the controllers are
// main packages) while go mod tidy still records their dependencies.
package wrapper

import (
	_ "github.com/fluxcd/source-controller"
	_ "github.com/fluxcd/kustomize-controller"
	_ "github.com/fluxcd/helm-controller"
)
