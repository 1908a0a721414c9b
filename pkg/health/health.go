// Package health serves a worker's liveness and readiness probes over HTTP.
package health

import (
	"net/http"
	"time"
)

// Prober reports a component's state. Implementations must be safe for concurrent use.
type Prober interface {
	// Ready reports whether the component should receive work.
	Ready() bool
	// Live returns an error when the component is stuck and only a restart helps; a
	// slow dependency is not that.
	Live(now time.Time) error
}

// Handler returns a handler for /healthz (liveness: p.Live) and /readyz (readiness:
// p.Ready()). Failing probes answer 503 with the reason. Other paths get 404.
func Handler(p Prober) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := p.Live(time.Now()); err != nil {
			write(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		write(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if p.Ready() {
			write(w, http.StatusOK, "ready")
			return
		}
		write(w, http.StatusServiceUnavailable, "not ready")
	})
	return mux
}

func write(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body + "\n"))
}
