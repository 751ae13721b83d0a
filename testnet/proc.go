package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/node"
)

// BuildBinary builds the f2f command into dir and returns its path, as
// `make build` does (static, no cgo). It finds the module from the working
// directory (any package dir of this module).
func BuildBinary(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the face2face module")
	}
	bin := filepath.Join(dir, "f2f")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/f2f")
	cmd.Dir = filepath.Dir(mod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1") // as `make build`: Automerge and libopus through cgo
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, b)
	}
	return bin, nil
}

// CLIResult is what one run of the f2f command gave.
type CLIResult struct {
	Stdout, Stderr string
	Code           int
}

// RunCLI runs `bin --repo repo args...` and returns its output and exit
// code. err is set only when the command could not run at all.
func RunCLI(ctx context.Context, bin, repo string, args ...string) (CLIResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	all := append([]string{"--repo", repo}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	res := CLIResult{Stdout: so.String(), Stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		return res, err
	}
	return res, nil
}

// Proc is an `f2f daemon` running as a separate process.
type Proc struct {
	Repo   string
	Cmd    *exec.Cmd
	Client *api.Client
	// Started is when the process was started, Ready when it printed
	// node.ReadyLine.
	Started, Ready time.Time
	// LogPath holds the daemon's stderr.
	LogPath string

	stdout *lineWriter
	done   chan struct{}
	err    error
	log    *os.File
}

// StartDaemon runs `bin --repo repo daemon --api 127.0.0.1:0 args...`
// (initialising a local-profile repo first when there is none) and waits,
// at most until ctx ends or 30 s pass, for its ready line.
func StartDaemon(ctx context.Context, bin, repo string, args ...string) (*Proc, error) {
	if err := EnsureRepo(repo); err != nil {
		return nil, err
	}
	logPath := repo + ".log"
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	all := append([]string{"--repo", repo, "daemon", "--api", "127.0.0.1:0"}, args...)
	p := &Proc{Repo: repo, LogPath: logPath, log: lf, done: make(chan struct{}),
		stdout: &lineWriter{ready: make(chan struct{})}}
	p.Cmd = exec.Command(bin, all...)
	p.Cmd.Stdout = p.stdout
	p.Cmd.Stderr = lf
	p.Started = time.Now()
	if err := p.Cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	go func() { // owned by p: ends when the process does
		p.err = p.Cmd.Wait()
		p.log.Close()
		close(p.done)
	}()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case <-p.stdout.ready:
		p.Ready = time.Now()
	case <-p.done:
		return nil, fmt.Errorf("daemon exited before it was ready (%v): %s", p.err, p.tail())
	case <-tctx.Done():
		p.Kill()
		return nil, fmt.Errorf("daemon not ready: %w: %s", tctx.Err(), p.tail())
	}
	c, err := api.NewClient(repo)
	if err != nil {
		p.Kill()
		return nil, err
	}
	p.Client = c
	return p, nil
}

// tail returns the end of the daemon's log for error messages.
func (p *Proc) tail() string {
	b, _ := os.ReadFile(p.LogPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stdout returns what the daemon printed on stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, valid after Done.
func (p *Proc) Err() error { return p.err }

// Stop sends SIGTERM and waits up to timeout for a clean exit, then kills.
// It returns the exit error of a process that did not exit cleanly.
func (p *Proc) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("daemon did not stop within %s after SIGTERM", timeout)
	}
}

// Kill sends SIGKILL (like `kill -9`) and waits for the process to go.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// lineWriter collects a process's stdout and closes ready when the daemon's
// ready line appears.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	seen  bool
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if !w.seen {
		for _, l := range strings.Split(w.buf.String(), "\n") {
			if l == node.ReadyLine || strings.Contains(l, `"status": "ready"`) {
				w.seen = true
				close(w.ready)
				break
			}
		}
	}
	return len(b), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
