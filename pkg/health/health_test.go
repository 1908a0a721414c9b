package health_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pkg/health"
)

type prober struct {
	ready bool
	live  error
}

func (p prober) Ready() bool          { return p.ready }
func (p prober) Live(time.Time) error { return p.live }

func TestHandler(t *testing.T) {
	tests := []struct {
		name string
		p    prober
		path string
		want int
	}{
		{"live", prober{}, "/healthz", http.StatusOK},
		{"stuck", prober{live: errors.New("stuck")}, "/healthz", http.StatusServiceUnavailable},
		{"ready", prober{ready: true}, "/readyz", http.StatusOK},
		{"not ready", prober{}, "/readyz", http.StatusServiceUnavailable},
		{"unknown path", prober{ready: true}, "/other", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			health.Handler(tt.p).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("GET %s = %d, want %d (%s)", tt.path, rec.Code, tt.want, rec.Body)
			}
		})
	}
}
