package main

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLogWriterWritesEveryLineInOrderByClose(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	logs := newLogWriter(out)
	var want strings.Builder
	for i := range 1000 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		if _, err := logs.Write([]byte(line)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := logs.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("output has %d bytes, want the %d bytes written, in order", len(got), want.Len())
	}
	if out.Writes() >= 1000 {
		t.Errorf("%d writes for 1000 lines, want them batched", out.Writes())
	}
}

func TestLogWriterWritesSoonWithoutClose(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	logs := newLogWriter(out)
	t.Cleanup(func() { logs.Close() })
	if _, err := logs.Write([]byte("alone\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "alone\n" {
		if time.Now().After(deadline) {
			t.Fatalf("line not written after 5s; output %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// stalledWriter blocks every write until release is closed, like a pipe
// whose reader has stopped reading.
type stalledWriter struct {
	syncBuffer
	release chan struct{}
}

func (w *stalledWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.syncBuffer.Write(p)
}

func TestLogWriterBlocksWritersWhenTheOutputFallsBehind(t *testing.T) {
	t.Parallel()
	out := &stalledWriter{release: make(chan struct{})}
	logs := newLogWriter(out)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	total := 3 * logMaxPending / len(line) // more than the queue and one batch can hold
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total {
			if _, err := logs.Write(line); err != nil {
				return
			}
			accepted.Add(1)
		}
	}()

	// With the output stalled, at most one batch is in its hands and
	// logMaxPending bytes wait: then Write must block.
	time.Sleep(200 * time.Millisecond)
	if n, limit := accepted.Load(), int64(2*logMaxPending/len(line)+2); n > limit {
		t.Errorf("%d lines accepted with the output stalled, want at most %d: no back-pressure", n, limit)
	}
	close(out.release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writers still blocked 10s after the output moved again")
	}
	if err := logs.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got, want := out.String(), strings.Repeat(string(line), total); got != want {
		t.Errorf("output has %d bytes, want %d: lines lost or reordered under back-pressure", len(got), len(want))
	}
}

func TestLogWriterCloseReportsOutputError(t *testing.T) {
	t.Parallel()
	broken := errors.New("disk full")
	logs := newLogWriter(&syncBuffer{err: broken})
	if _, err := logs.Write([]byte("lost\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := logs.Close(); !errors.Is(err, broken) {
		t.Errorf("close = %v, want %v", err, broken)
	}
}

func TestLogWriterWritesThroughAfterClose(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	logs := newLogWriter(out)
	if err := logs.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := logs.Write([]byte("late\n")); err != nil {
		t.Fatalf("write after close: %v", err)
	}
	if got := out.String(); got != "late\n" {
		t.Errorf("output = %q, want the line written after Close", got)
	}
}
