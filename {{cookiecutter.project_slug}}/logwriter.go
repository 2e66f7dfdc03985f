package main

import (
	"io"
	"sync"
	"time"
)

// logFlushDelay is how long a log line may wait for others to share its
// write, and logMaxPending how many bytes may wait before writers block.
const (
	logFlushDelay = time.Millisecond
	logMaxPending = 1 << 20
)

// logWriter batches log lines on their way to an output: Write queues a line
// and returns, and a goroutine of its own writes what has gathered, at most
// logFlushDelay after the first line of a batch. Under load one write system
// call carries the lines of many requests instead of one each. When the
// output falls behind by logMaxPending bytes, Write waits for it. Close
// writes every queued line before it returns.
type logWriter struct {
	out     io.Writer
	mu      sync.Mutex
	cond    *sync.Cond // lines arrived, room was made, or Close was called
	pending []byte
	closed  bool
	err     error         // the first error the output returned
	stopped chan struct{} // closed when the goroutine has written everything
}

// newLogWriter starts a logWriter that writes to out.
func newLogWriter(out io.Writer) *logWriter {
	l := &logWriter{out: out, stopped: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	go l.writeBatches()
	return l
}

// Write queues p and returns. After Close it writes p through at once.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	for len(l.pending) >= logMaxPending && !l.closed {
		l.cond.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return l.out.Write(p)
	}
	if len(l.pending) == 0 {
		l.cond.Broadcast()
	}
	l.pending = append(l.pending, p...)
	l.mu.Unlock()
	return len(p), nil
}

// Close writes the queued lines, stops the goroutine and returns the first
// error the output returned.
func (l *logWriter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.stopped
	return l.err
}

// writeBatches writes the queued lines until Close, batch by batch.
func (l *logWriter) writeBatches() {
	defer close(l.stopped)
	var batch []byte
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for len(l.pending) == 0 && !l.closed {
			l.cond.Wait()
		}
		if len(l.pending) == 0 {
			return
		}
		if !l.closed {
			l.mu.Unlock()
			time.Sleep(logFlushDelay) // let the lines of concurrent requests join this batch
			l.mu.Lock()
		}
		batch, l.pending = l.pending, batch[:0]
		l.cond.Broadcast() // writers waiting for room
		l.mu.Unlock()
		_, err := l.out.Write(batch)
		l.mu.Lock()
		if l.err == nil {
			l.err = err
		}
	}
}
