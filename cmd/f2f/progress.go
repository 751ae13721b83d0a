package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fluttershy/face2face/internal/textfmt"
)

// bar is a progress line on stderr (bytes, rate, ETA), drawn only when
// stderr is a terminal.
type bar struct {
	w     io.Writer
	label string
	start time.Time

	mu    sync.Mutex
	n     uint64
	total uint64
	drawn time.Time
	shown bool
}

func newBar(g *globals, label string, total uint64) *bar {
	b := &bar{label: label, total: total, start: time.Now()}
	if isTerminal(g.err) && !g.json {
		b.w = g.err
	}
	return b
}

func (b *bar) add(n int) {
	b.mu.Lock()
	b.n += uint64(n)
	b.drawLocked(false)
	b.mu.Unlock()
}

func (b *bar) set(n, total uint64) {
	b.mu.Lock()
	b.n, b.total = n, total
	b.drawLocked(false)
	b.mu.Unlock()
}

// done draws the final state and ends the line.
func (b *bar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w == nil || !b.shown {
		return
	}
	b.drawLocked(true)
	fmt.Fprintln(b.w)
}

func (b *bar) drawLocked(force bool) {
	if b.w == nil || (!force && time.Since(b.drawn) < 100*time.Millisecond) {
		return
	}
	b.drawn, b.shown = time.Now(), true
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.n) / el
	}
	line := fmt.Sprintf("%s %s", b.label, textfmt.HumanSize(b.n))
	if b.total > 0 {
		pct := 100 * float64(b.n) / float64(b.total)
		line += fmt.Sprintf(" / %s  %5.1f%%", textfmt.HumanSize(b.total), pct)
	}
	line += fmt.Sprintf("  %s/s", textfmt.HumanSize(uint64(rate)))
	if b.total > b.n && rate > 0 {
		eta := time.Duration(float64(b.total-b.n) / rate * float64(time.Second))
		line += "  ETA " + eta.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r\x1b[2K%s", line)
}

// countingReader feeds a bar with what is read through it.
type countingReader struct {
	r   io.Reader
	bar *bar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bar.add(n)
	return n, err
}
