package bench

import (
	"os"
	"testing"
	"time"

	"github.com/fluttershy/face2face/testnet"

	"github.com/fluttershy/face2face/internal/testlock"
)

func TestMain(m *testing.M) {
	testlock.Shared()
	os.Exit(testnet.CheckLeaks(m.Run()))
}

func TestSummaries(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	if m := Median(ds); m != 3 {
		t.Errorf("median %v", m)
	}
	if m := Max(ds); m != 5 {
		t.Errorf("max %v", m)
	}
	if p := Percentile(ds, 0.5); p != 3 {
		t.Errorf("p50 %v", p)
	}
	if p := Percentile(ds, 0.99); p != 5 {
		t.Errorf("p99 %v", p)
	}
}
