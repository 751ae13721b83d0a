package overlay

import (
	"testing"
	"time"
)

// TestSizeScaled: announcements, reports, telemetry and the gone timeout
// keep their intervals up to 10 live members and stretch in proportion
// above (at most tenfold), so that a member of a room of 50 receives as
// many per second as one of 10.
func TestSizeScaled(t *testing.T) {
	for _, tt := range []struct {
		present int
		want    time.Duration
	}{{1, 5 * time.Second}, {10, 5 * time.Second}, {11, 5500 * time.Millisecond}, {50, 25 * time.Second}, {100, 50 * time.Second}, {5000, 50 * time.Second}} {
		if got := sizeScaled(5*time.Second, tt.present); got != tt.want {
			t.Errorf("sizeScaled(5s, %d) = %v, want %v", tt.present, got, tt.want)
		}
	}
	// Per member and second, a room of 50 receives what a room of 10 does.
	per := func(n int) float64 { return float64(n-1) / sizeScaled(5*time.Second, n).Seconds() }
	if a, b := per(10), per(50); b > a*1.1 {
		t.Errorf("announcements per member and second: %.2f at 10, %.2f at 50", a, b)
	}
}
