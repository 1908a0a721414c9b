package harness

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// LatencyProxy serves a reverse proxy on loopback that holds every request for Delay
// before passing it to target, standing in for a storage service farther away than
// loopback. Close stops it.
type LatencyProxy struct {
	Addr string
	// Requests counts the requests the proxy has received.
	Requests atomic.Int64
	srv      *http.Server
}

// StartLatencyProxy proxies to target ("host:port") with delay added to each request.
func StartLatencyProxy(target string, delay time.Duration) (*LatencyProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: target})
			// The fake's XML routes match only its own host name.
			r.Out.Host = target
		},
		// Enough idle connections that the proxy never redials under load.
		Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024},
	}
	p := &LatencyProxy{Addr: ln.Addr().String()}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy.
func (p *LatencyProxy) Close() error { return p.srv.Close() }
