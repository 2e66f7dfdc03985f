package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter records what it is given, write by write.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	err    error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	w.buf.Write(p)
	return len(p), w.err
}

func (w *countingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestLogWriterWritesEveryLineInOrderByClose(t *testing.T) {
	t.Parallel()
	out := &countingWriter{}
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
	if out.writes >= 1000 {
		t.Errorf("%d writes for 1000 lines, want them batched", out.writes)
	}
}

func TestLogWriterWritesSoonWithoutClose(t *testing.T) {
	t.Parallel()
	out := &countingWriter{}
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

func TestLogWriterCloseReportsOutputError(t *testing.T) {
	t.Parallel()
	broken := errors.New("disk full")
	logs := newLogWriter(&countingWriter{err: broken})
	if _, err := logs.Write([]byte("lost\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := logs.Close(); !errors.Is(err, broken) {
		t.Errorf("close = %v, want %v", err, broken)
	}
}

func TestLogWriterWritesThroughAfterClose(t *testing.T) {
	t.Parallel()
	out := &countingWriter{}
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
