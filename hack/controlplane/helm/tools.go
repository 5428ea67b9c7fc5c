//go:build tools

// Package helm pins the helm CLI built by hack/build-controlplane.sh.
// The `tools` tag keeps this file out of builds (cmd/helm is a main package
// and cannot really be imported) while `go mod tidy` still records its deps.
package helm

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
