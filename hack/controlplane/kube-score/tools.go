//go:build tools

// Package kubescore pins the kube-score command built by hack/build-controlplane.sh.
package kubescore

import _ "github.com/zegl/kube-score/cmd/kube-score"
