// Package health serves a worker's liveness and readiness probes over HTTP.
package health

import (
	"net/http"
)

// Prober reports a component's state. Implementations must be safe for concurrent use.
type Prober interface {
	// Ready reports whether the component should receive work.
	Ready() bool
}

// Handler returns a handler for /healthz (liveness: the process serves HTTP) and /readyz
// (readiness: p.Ready()). Other paths get 404.
func Handler(p Prober) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		// TODO(#5): fail when the receive loop is stuck, not only when HTTP is down.
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
