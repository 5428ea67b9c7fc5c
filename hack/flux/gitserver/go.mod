module learnpath.local/hack/flux/gitserver

go 1.26.0
