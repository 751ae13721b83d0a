package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCLIReachesNodeOnlyThroughItsNodeCommands: every command talks to
// its daemon through package api; only the commands that build a node or
// a repo (daemon, init, demo, bench) import node or the packages that run
// nodes.
func TestCLIReachesNodeOnlyThroughItsNodeCommands(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/fluttershy/face2face/"
	nodeSide := []string{mod + "node", mod + "testnet", mod + "internal/demo", mod + "dht", mod + "overlay", mod + "media", mod + "collab"}
	mayBuild := func(f string) bool {
		return f == "daemon.go" || f == "init.go" || f == "demo.go" || strings.HasPrefix(f, "bench") || strings.HasSuffix(f, "_test.go")
	}
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if slices.Contains(nodeSide, p) && !mayBuild(f) {
				t.Errorf("%s imports %s: talk to the daemon through package api", f, p)
			}
		}
	}
}
