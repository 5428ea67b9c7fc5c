//go:build tools

// Package wrapper pins github.com/fluxcd/source-controller v1.9.3, built by hack/build-flux.sh.
// The tools tag keeps this file out of builds (the controller is a main
// package) while go mod tidy still records its dependencies.
package wrapper

import (
	_ "github.com/fluxcd/source-controller"
)
