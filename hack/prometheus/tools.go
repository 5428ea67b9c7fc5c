//go:build tools

// Package prometheus pins the prometheus server and promtool built by hack/build-prometheus.sh.
// The tools tag keeps this file out of builds (both are main packages) while go mod tidy still
// records their dependencies.
package prometheus

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
