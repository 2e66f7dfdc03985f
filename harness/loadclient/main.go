// Command loadclient is the cluster tests' client, run in a pod so that its requests go
// through the Service's ClusterIP and kube-proxy as any caller's in the cluster would.
//
//	loadclient get URL
//	loadclient load -url URL -name NAME -clients N [-rate R] [-keepalive] [-max-seconds S] [-notes]
//
// get prints one JSON line: the status and body of GET URL (retried until an answer, 60s).
// load first waits for one good answer (not counted: the Service may not be programmed
// yet), prints {"started": TIME}, then sends GET URL from N clients, each at most R times a
// second, until SIGTERM or max-seconds. The rate bounds the connections in TIME_WAIT, each of
// which holds a local port for a minute: unpaced, new connections would run out of ports. Each request that gets no 200 with a JSON body naming NAME is
// printed as {"failed": TIME, "error": ...}; at the end it prints
// {"served": N, "failed": N, "versions": {...}}. Times are RFC 3339 with nanoseconds.
// With -notes each request is the database example's round trip instead: POST URL/notes with a
// text of its own, which must answer 201 with the note, then GET URL/notes/{id}, which must
// answer 200 with the same note; both count as one request, under the version "notes".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxFailureLines bounds the output of a run that loses many requests.
const maxFailureLines = 5000

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadclient:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 2 && args[0] == "get" {
		return get(args[1])
	}
	if len(args) > 0 && args[0] == "load" {
		return load(args[1:])
	}
	return errors.New("usage: loadclient get URL | loadclient load -url URL -name NAME -clients N [-rate R] [-keepalive] [-max-seconds S] [-notes]")
}

func get(url string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return json.NewEncoder(os.Stdout).Encode(map[string]any{"status": resp.StatusCode, "body": string(body)})
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: no answer within 60s: %v", url, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// answer is what the service says on GET /.
type answer struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// tally counts the outcomes of every client and prints each failure as it happens.
type tally struct {
	mu       sync.Mutex
	out      *json.Encoder
	served   int
	failed   int
	versions map[string]int
}

func (t *tally) add(version string, failure error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if failure == nil {
		t.served++
		t.versions[version]++
		return
	}
	t.failed++
	if t.failed <= maxFailureLines {
		_ = t.out.Encode(map[string]string{"failed": stamp(time.Now()), "error": failure.Error()})
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// fetch sends one GET and checks the answer: 200, JSON, the expected name.
func fetch(client *http.Client, url, name string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	var a answer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &a) != nil || a.Name != name {
		return "", fmt.Errorf("status %d: %.80q", resp.StatusCode, body)
	}
	return a.Version, nil
}

// note is what POST /notes and GET /notes/{id} answer.
type note struct {
	ID   int64  `json:"id"`
	Text string `json:"text"`
}

// readNote reads a response that must have the status and carry a note as JSON.
func readNote(resp *http.Response, status int) (note, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return note{}, fmt.Errorf("read body: %w", err)
	}
	var n note
	if resp.StatusCode != status || json.Unmarshal(body, &n) != nil {
		return note{}, fmt.Errorf("%s %s: status %d: %.80q", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body)
	}
	return n, nil
}

// roundTrip stores a note with POST /notes and reads it back with GET /notes/{id}.
func roundTrip(client *http.Client, base, text string) (string, error) {
	payload, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return "", err
	}
	resp, err := client.Post(base+"notes", "application/json", bytes.NewReader(payload))
	if err != nil {
		return "", err
	}
	created, err := readNote(resp, http.StatusCreated)
	if err != nil {
		return "", err
	}
	resp, err = client.Get(fmt.Sprintf("%snotes/%d", base, created.ID))
	if err != nil {
		return "", err
	}
	fetched, err := readNote(resp, http.StatusOK)
	if err != nil {
		return "", err
	}
	if created.Text != text || fetched != created {
		return "", fmt.Errorf("note %d: stored %q, read back %q, sent %q", created.ID, created.Text, fetched.Text, text)
	}
	return "notes", nil
}

func newClient(keepAlive bool) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableKeepAlives = !keepAlive
	transport.MaxIdleConnsPerHost = 1
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

func load(args []string) error {
	flags := flag.NewFlagSet("load", flag.ContinueOnError)
	url := flags.String("url", "", "the URL to GET")
	name := flags.String("name", "", "the name every answer must carry")
	clients := flags.Int("clients", 8, "concurrent clients")
	keepAlive := flags.Bool("keepalive", false, "reuse each client's connection (else one connection per request)")
	rate := flags.Float64("rate", 25, "requests a second per client, at most")
	maxSeconds := flags.Int("max-seconds", 300, "stop after this long even without SIGTERM")
	notes := flags.Bool("notes", false, "send POST /notes then GET /notes/{id} instead of GET URL")
	if err := flags.Parse(args); err != nil {
		return err
	}
	var sent atomic.Int64
	send := func(client *http.Client) (string, error) {
		if *notes {
			return roundTrip(client, *url, fmt.Sprintf("note %d", sent.Add(1)))
		}
		return fetch(client, *url, *name)
	}
	if *url == "" || *name == "" || *clients < 1 || *rate <= 0 {
		return errors.New("load needs -url, -name, -clients of 1 or more and a -rate above 0")
	}
	interval := time.Duration(float64(time.Second) / *rate)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(*maxSeconds)*time.Second)
	defer cancel()

	warm := newClient(false)
	for {
		if _, err := send(warm); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return errors.New("no good answer before the end")
		case <-time.After(200 * time.Millisecond):
		}
	}
	t := &tally{out: json.NewEncoder(os.Stdout), versions: map[string]int{}}
	_ = t.out.Encode(map[string]string{"started": stamp(time.Now())})

	var wg sync.WaitGroup
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := newClient(*keepAlive)
			next := time.Now()
			for ctx.Err() == nil {
				version, err := send(client)
				t.add(version, err)
				// After a slow answer, no burst to catch up.
				next = next.Add(interval)
				if earliest := time.Now().Add(-interval); next.Before(earliest) {
					next = earliest
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Until(next)):
				}
			}
		}()
	}
	wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out.Encode(map[string]any{"served": t.served, "failed": t.failed, "versions": t.versions, "stopped": stamp(time.Now())})
}
