package testnet

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/internal/testlock"
)

func TestMain(m *testing.M) {
	testlock.Shared()
	os.Exit(CheckLeaks(m.Run()))
}

func newNet(t *testing.T, n int, opts ...Option) *Net {
	t.Helper()
	net, err := New(t.TempDir(), n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := net.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return net
}

func TestShapesFillRoutingTables(t *testing.T) {
	for _, shape := range []Shape{Star, Chain, Random} {
		t.Run(shape.String(), func(t *testing.T) {
			net := newNet(t, 5, WithShape(shape), WithSeed(7))
			// Each node was told about one other node only.
			for i, to := range net.BootTo {
				if i == 0 && to != -1 || i > 0 && (to < 0 || to >= i) {
					t.Fatalf("node %d bootstrapped to %d", i, to)
				}
				if shape == Chain && i > 0 && to != i-1 || shape == Star && i > 0 && to != 0 {
					t.Fatalf("%s: node %d bootstrapped to %d", shape, i, to)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := net.WaitFullRoutingTables(ctx); err != nil {
				for i, nd := range net.Nodes {
					t.Logf("node%d rt=%v", i, nd.RoutingTable())
				}
				t.Fatal(err)
			}
			if err := WaitFor(ctx, func() (bool, error) { return net.FullyConnected(), nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseShape(t *testing.T) {
	for _, s := range []Shape{Star, Chain, Random} {
		got, err := ParseShape(s.String())
		if err != nil || got != s {
			t.Errorf("ParseShape(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseShape("ring"); err == nil {
		t.Error("ParseShape(ring) succeeded")
	}
}

func TestNewRejectsNoNodes(t *testing.T) {
	if _, err := New(t.TempDir(), 0); err == nil {
		t.Fatal("New with 0 nodes succeeded")
	}
}

func TestWaitForHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := WaitFor(ctx, func() (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "condition not met") {
		t.Fatalf("WaitFor = %v, want condition not met", err)
	}
	want := fmt.Errorf("boom")
	if err := WaitFor(context.Background(), func() (bool, error) { return false, want }); err != want {
		t.Fatalf("WaitFor = %v, want %v", err, want)
	}
}
