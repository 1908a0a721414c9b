package telemetry_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// sample is one series of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape GETs /metrics and parses the samples. It handles the text format as the
// exporter writes it: no escaped quotes or commas inside label values.
func scrape(t *testing.T, srv *httptest.Server) []sample {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, val, ok := strings.Cut(line, " ")
		if i := strings.LastIndex(line, "} "); i >= 0 {
			series, val, ok = line[:i+1], line[i+2:], true
		}
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		v, err := strconv.ParseFloat(strings.Fields(val)[0], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		s := sample{name: series, labels: map[string]string{}, value: v}
		if name, rest, found := strings.Cut(series, "{"); found {
			s.name = name
			for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					s.labels[k] = strings.Trim(v, `"`)
				}
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// matches reports whether s is named name and has every label in want.
func (s sample) matches(name string, want map[string]string) bool {
	if s.name != name {
		return false
	}
	for k, v := range want {
		if s.labels[k] != v {
			return false
		}
	}
	return true
}

// sum adds the values of the series named name with the labels want.
func sum(m []sample, name string, want map[string]string) float64 {
	var n float64
	for _, s := range m {
		if s.matches(name, want) {
			n += s.value
		}
	}
	return n
}

func gauge(t *testing.T, m []sample, name string, want map[string]string) float64 {
	t.Helper()
	if !has(m, name) {
		t.Fatalf("no %s on /metrics", name)
	}
	return sum(m, name, want)
}

func has(m []sample, name string) bool {
	for _, s := range m {
		if s.name == name {
			return true
		}
	}
	return false
}

// dumpMetrics logs the sluice and messaging series of /metrics, under go test -v.
func dumpMetrics(t *testing.T, srv *httptest.Server) {
	t.Helper()
	for _, s := range scrape(t, srv) {
		if strings.HasPrefix(s.name, "sluice_") || strings.HasPrefix(s.name, "messaging_") {
			t.Logf("%s %v %v", s.name, s.labels, s.value)
		}
	}
}
