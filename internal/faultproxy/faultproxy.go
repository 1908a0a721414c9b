// Package faultproxy is an HTTP reverse proxy that injects faults into chosen requests,
// for tests that put it in front of fake-gcs-server (or any HTTP service).
//
// A Proxy forwards every request to its target unless a Rule matches it. Rules are
// checked in the order they were added; the first that matches and has uses left acts
// on the request. Rules can be added and removed while requests are in flight.
package faultproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Action is what a rule does to a request it matches.
type Action int

const (
	// Status answers with Rule.Code and a JSON error body, without contacting the target.
	Status Action = iota + 1
	// Delay waits Rule.Delay (or until the client gives up), then forwards the request.
	Delay
	// Reset forwards the request, sends the response headers and the first
	// Rule.AfterBytes bytes of the body, then resets the connection.
	Reset
)

// Rule injects one fault.
type Rule struct {
	// Match selects the requests the rule applies to; nil matches every request.
	Match func(*http.Request) bool
	// Times is how many requests the rule acts on before it stops matching; 0 means
	// every matching request.
	Times  int
	Action Action
	// Code is the status Status answers with. RetryAfter, if set, is sent as the
	// Retry-After header.
	Code       int
	RetryAfter time.Duration
	// Delay is how long Delay waits.
	Delay time.Duration
	// AfterBytes is how much of the body Reset lets through.
	AfterBytes int64

	hits int // guarded by Proxy.mu
}

// Proxy is a fault-injecting reverse proxy. Create it with Start.
type Proxy struct {
	// Host is the proxy's "127.0.0.1:port" address.
	Host string

	srv    *httptest.Server
	target *url.URL
	rp     *httputil.ReverseProxy

	mu    sync.Mutex
	rules []*Rule
	log   []Hit
}

// Hit records one request the proxy saw.
type Hit struct {
	Method, Path string
	// Fault is the action applied, 0 when the request was forwarded untouched.
	Fault Action
	Time  time.Time
}

// Start serves a proxy to target (a URL such as "http://127.0.0.1:4443") on loopback.
// Stop it with Close.
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	p := &Proxy{target: u}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			// SetURL also sets the Host header to the target's, which fake-gcs-server
			// needs to route XML API reads.
			r.SetURL(u)
		},
		// Stream bodies as they arrive, so a reset lands mid-body.
		FlushInterval: -1,
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.Host = strings.TrimPrefix(p.srv.URL, "http://")
	return p, nil
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// Add appends r to the rules and returns it, for Remove.
func (p *Proxy) Add(r Rule) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	rr := &r
	p.rules = append(p.rules, rr)
	return rr
}

// Remove deletes r from the rules; requests it is acting on carry on.
func (p *Proxy) Remove(r *Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.rules {
		if x == r {
			p.rules = append(p.rules[:i], p.rules[i+1:]...)
			return
		}
	}
}

// Hits returns how many requests r has acted on.
func (p *Proxy) Hits(r *Rule) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return r.hits
}

// Log returns every request the proxy has seen, in order.
func (p *Proxy) Log() []Hit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Hit(nil), p.log...)
}

// pick returns the rule that acts on req, or nil, and records the request.
func (p *Proxy) pick(req *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	var picked *Rule
	for _, r := range p.rules {
		if r.Times > 0 && r.hits >= r.Times {
			continue
		}
		if r.Match == nil || r.Match(req) {
			r.hits++
			picked = r
			break
		}
	}
	h := Hit{Method: req.Method, Path: req.URL.Path, Time: time.Now()}
	if picked != nil {
		h.Fault = picked.Action
	}
	p.log = append(p.log, h)
	return picked
}

func (p *Proxy) serve(w http.ResponseWriter, req *http.Request) {
	r := p.pick(req)
	switch {
	case r == nil:
		p.rp.ServeHTTP(w, req)
	case r.Action == Status:
		if r.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(r.RetryAfter/time.Second)))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(r.Code)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":"injected by faultproxy"}}`, r.Code)
	case r.Action == Delay:
		select {
		case <-time.After(r.Delay):
			p.rp.ServeHTTP(w, req)
		case <-req.Context().Done():
		}
	case r.Action == Reset:
		p.reset(w, req, r.AfterBytes)
	default:
		http.Error(w, "faultproxy: unknown action", http.StatusInternalServerError)
	}
}

// reset forwards req, relays the status, headers and the first n body bytes, then
// closes the connection with a TCP reset (SO_LINGER 0), as a dropped peer would.
func (p *Proxy) reset(w http.ResponseWriter, req *http.Request, n int64) {
	out := req.Clone(context.WithoutCancel(req.Context()))
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host, out.Host = p.target.Scheme, p.target.Host, p.target.Host
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.CopyN(w, resp.Body, n)
	w.(http.Flusher).Flush()

	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// ObjectReads matches downloads of objects in bucket, through the XML API
// (GET /bucket/name) or the JSON API (GET /storage/v1/b/bucket/o/name?alt=media, or
// /download/storage/v1/...).
func ObjectReads(bucket string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		path := r.URL.Path
		if strings.HasPrefix(path, "/"+bucket+"/") {
			return true
		}
		path = strings.TrimPrefix(path, "/download")
		return strings.HasPrefix(path, "/storage/v1/b/"+bucket+"/o/") && r.URL.Query().Get("alt") == "media"
	}
}

// Bucket matches every request that names bucket, through either API.
func Bucket(bucket string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		path := r.URL.Path
		return strings.HasPrefix(path, "/"+bucket+"/") ||
			strings.Contains(path, "/b/"+bucket+"/") || strings.HasSuffix(path, "/b/"+bucket)
	}
}
