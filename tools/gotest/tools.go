//go:build tools

// Package gotest holds small Go programs that goxy's tests use as reference
// implementations (golang.org/x/mod is the specification goxy must match).
// This file pins every x/mod package the programs may import, so that
// `go mod vendor` keeps them all and the tests never need the network.
package gotest

import (
	_ "golang.org/x/mod/modfile"
	_ "golang.org/x/mod/module"
	_ "golang.org/x/mod/semver"
	_ "golang.org/x/mod/sumdb"
	_ "golang.org/x/mod/sumdb/dirhash"
	_ "golang.org/x/mod/sumdb/note"
	_ "golang.org/x/mod/sumdb/tlog"
	_ "golang.org/x/mod/zip"
)
