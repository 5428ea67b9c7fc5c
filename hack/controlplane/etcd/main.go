// Command etcd is the upstream etcd server, built from the pinned
// go.etcd.io/etcd/server/v3 module (see go.mod and hack/versions.env).
// Kept as a wrapper module so the version is pinned by go.sum rather than by
// whatever `go install ...@version` resolves on a given day.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
