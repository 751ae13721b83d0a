package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/internal/bench"
)

func TestBenchChatCLI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	repo := filepath.Join(t.TempDir(), "unused") // bench chat makes its own repos
	for _, mode := range [][]string{nil, {"--procs"}} {
		args := append([]string{"bench", "chat", "--nodes", "3", "--messages", "6", "--rate", "30", "--burst", "10", "--warmup", "1s", "--json"}, mode...)
		out := cliOK(ctx, t, repo, args...)
		var res struct {
			Cores   int `json:"cores"`
			Results []struct {
				Nodes    int     `json:"nodes"`
				Run      int     `json:"run"`
				Messages int     `json:"messages"`
				P50      float64 `json:"p50_ms"`
				P99      float64 `json:"p99_ms"`
				Max      float64 `json:"max_ms"`
				Missing  int     `json:"missing"`
				BareP50  float64 `json:"bare_p50_ms"`
				BareP99  float64 `json:"bare_p99_ms"`
				BareMiss int     `json:"bare_missing"`
				Ratio    float64 `json:"p99_ratio"`
				Rate     float64 `json:"msgs_per_s"`
				Cores    float64 `json:"cores_used"`
				BareCPU  float64 `json:"bare_cores_used"`
				GCShare  float64 `json:"gc_share"`
				BareGC   float64 `json:"bare_gc_share"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("f2f %v: bad JSON %q: %v", args, out, err)
		}
		if res.Cores < 1 || len(res.Results) != 1 {
			t.Fatalf("f2f %v: %+v", args, res)
		}
		r := res.Results[0]
		if r.Nodes != 3 || r.Run != 1 || r.Messages != 6 || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 || r.Missing != 0 ||
			r.BareP50 <= 0 || r.BareP99 < r.BareP50 || r.BareMiss != 0 || r.Ratio <= 0 || r.Rate <= 0 || r.BareCPU <= 0 {
			t.Errorf("f2f %v: implausible figures %+v", args, r)
		}
		// The room's CPU is this process's only when it runs in it.
		if inProcess := mode == nil; (r.Cores > 0) != inProcess {
			t.Errorf("f2f %v: cores used %g", args, r.Cores)
		}
		// The collector's share of the CPU: a fraction, the room's only
		// in process (a run as short as this one may see no cycle).
		if r.GCShare < 0 || r.GCShare >= 1 || r.BareGC < 0 || r.BareGC >= 1 || mode != nil && r.GCShare != 0 {
			t.Errorf("f2f %v: gc shares %g, bare %g", args, r.GCShare, r.BareGC)
		}
	}
	// The table names the figures and the floor; two runs are summarised.
	out := cliOK(ctx, t, repo, "bench", "chat", "--nodes", "2", "--messages", "3", "--runs", "2", "--warmup", "0s")
	for _, want := range []string{"publish->delivery", "bare p99", "bare cores", "gc cycles (cpu)", "bare gc cycles (cpu)", "p99/bare over 2 runs"} {
		if !strings.Contains(out, want) || strings.Contains(out, "throughput") {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// --hold-gc: no collection in either measured window, and the rows
	// are not judged against the goals.
	out = cliOK(ctx, t, repo, "bench", "chat", "--nodes", "2", "--messages", "3", "--warmup", "0s", "--hold-gc", "--json")
	var held struct {
		Results []struct {
			Held       bool `json:"gc_held"`
			Cycles     int  `json:"gc_cycles"`
			BareCycles int  `json:"bare_gc_cycles"`
			Missing    int  `json:"missing"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &held); err != nil || len(held.Results) != 1 {
		t.Fatalf("--hold-gc: bad JSON %q: %v", out, err)
	}
	if r := held.Results[0]; !r.Held || r.Cycles != 0 || r.BareCycles != 0 || r.Missing != 0 {
		t.Errorf("--hold-gc: %+v", r)
	}
	if out := cliOK(ctx, t, repo, "bench", "chat", "--nodes", "2", "--messages", "3", "--warmup", "0s", "--hold-gc"); !strings.Contains(out, "not judged: collector held") {
		t.Errorf("--hold-gc table judges its row:\n%s", out)
	}

	for _, bad := range [][]string{
		{"--nodes", "1"}, {"--nodes", "101"}, {"--messages", "0"}, {"--burst", "-1"}, {"--nodes", "x"}, {"--warmup", "-1s"},
		{"--rate", "0"}, {"--size", "8"}, {"--runs", "0"}, {"--grace", "0s"}, {"--hold-gc", "--procs"},
	} {
		res := cli(ctx, t, repo, append([]string{"bench", "chat"}, bad...)...)
		if res.Code != 1 {
			t.Errorf("bench chat %v: exit %d, want 1", bad, res.Code)
		}
		oneErrLine(t, res.Stderr)
	}
}

func TestBenchFilesCLI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	repo := filepath.Join(t.TempDir(), "unused")
	out := cliOK(ctx, t, repo, "bench", "files", "--size", "4", "--fanout", "3", "--json")
	var res struct {
		Cores  int                   `json:"cores"`
		Result bench.FileBenchResult `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	r := res.Result
	if res.Cores < 1 || r.Size != 4<<20 || r.GetMBps <= 0 || r.RawMBps <= 0 || r.Ratio <= 0 || r.Fetchers != 3 || r.FanoutSec <= 0 || r.FanoutSrcs < 1 ||
		r.BareMBps <= 0 || r.GetOverBare <= 0 {
		t.Errorf("implausible figures %+v", res)
	}
	if out := cliOK(ctx, t, repo, "bench", "files", "--size", "1", "--fanout", "0"); !strings.Contains(out, "file get ") || !strings.Contains(out, "bitswap alone") || strings.Contains(out, "fan-out") {
		t.Errorf("table:\n%s", out)
	}
	for _, bad := range [][]string{{"--size", "0"}, {"--fanout", "-1"}, {"--fanout", "51"}} {
		res := cli(ctx, t, repo, append([]string{"bench", "files"}, bad...)...)
		if res.Code != 1 {
			t.Errorf("bench files %v: exit %d, want 1", bad, res.Code)
		}
		oneErrLine(t, res.Stderr)
	}
}

// TestBenchMediaCLI: five daemons in a star publish; the mixer is killed.
func TestBenchMediaCLI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	repo := filepath.Join(t.TempDir(), "unused")
	out := cliOK(ctx, t, repo, "bench", "media", "--nodes", "5", "--window", "2s", "--json")
	var r bench.MediaBenchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if r.Nodes != 5 || r.Mode != "star" || r.MixerCores <= 0 || r.ForwardedPPS <= 0 || r.PacketsPerCoreSecond <= 0 || r.Failover <= 0 {
		t.Errorf("implausible figures %+v", r)
	}
	for _, bad := range [][]string{{"--nodes", "2"}, {"--nodes", "17"}, {"--window", "10ms"}} {
		res := cli(ctx, t, repo, append([]string{"bench", "media"}, bad...)...)
		if res.Code != 1 {
			t.Errorf("bench media %v: exit %d, want 1", bad, res.Code)
		}
		oneErrLine(t, res.Stderr)
	}
}

// f2f bench compose: figures for each count of inputs; bad flags are one
// line each.
func TestBenchComposeCLI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	repo := filepath.Join(t.TempDir(), "unused")
	out := cliOK(ctx, t, repo, "bench", "compose", "--inputs", "1,2", "--frames", "5", "--window", "2s", "--json")
	var res struct {
		Cores int `json:"cores"`
		Runs  []struct {
			Inputs         int     `json:"inputs"`
			DecodeMS       float64 `json:"decode_ms"`
			FrameMS        float64 `json:"frame_ms"`
			OutputsPerCore float64 `json:"outputs_per_core"`
			P50            float64 `json:"latency_ms_p50"`
			P99            float64 `json:"latency_ms_p99"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if res.Cores < 1 || len(res.Runs) != 2 || res.Runs[1].Inputs != 2 {
		t.Fatalf("runs %+v", res)
	}
	for _, r := range res.Runs {
		if r.DecodeMS <= 0 || r.FrameMS <= 0 || r.OutputsPerCore <= 0 || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("implausible figures %+v", r)
		}
	}
	for _, bad := range [][]string{{"--inputs", "0"}, {"--inputs", "four"}, {"--frames", "0"}, {"--window", "1ms"}} {
		res := cli(ctx, t, repo, append([]string{"bench", "compose"}, bad...)...)
		if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "--") {
			t.Errorf("%v: %d %q", bad, res.Code, res.Stderr)
		}
	}
}
