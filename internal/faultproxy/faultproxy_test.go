package faultproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProxy(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}))
	defer backend.Close()
	p, err := Start(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	get := func() (int, []byte, error) {
		t.Helper()
		resp, err := http.Get("http://" + p.Host + "/b/obj")
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return resp.StatusCode, data, err
	}

	r := p.Add(Rule{Action: Status, Code: http.StatusServiceUnavailable, Times: 2})
	for i, want := range []int{503, 503, 200} {
		code, data, err := get()
		if err != nil || code != want {
			t.Fatalf("request %d = %d, %v; want %d", i, code, err, want)
		}
		if code == 200 && !bytes.Equal(data, body) {
			t.Fatalf("request %d: body of %d bytes, want the backend's %d", i, len(data), len(body))
		}
	}
	if got := p.Hits(r); got != 2 {
		t.Errorf("Hits = %d, want 2", got)
	}
	p.Remove(r)

	p.Add(Rule{Action: Reset, AfterBytes: 100 << 10, Times: 1})
	code, data, err := get()
	if err == nil || code != 200 || len(data) < 100<<10 || len(data) >= len(body) {
		t.Errorf("reset: status %d, %d bytes, err %v; want 200, a partial body and an error", code, len(data), err)
	}

	p.Add(Rule{Action: Delay, Delay: 200 * time.Millisecond, Times: 1})
	start := time.Now()
	if code, _, err := get(); err != nil || code != 200 {
		t.Fatalf("delay: %d, %v", code, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("delayed request took %s, want at least 200ms", d)
	}
	if n := len(p.Log()); n != 5 {
		t.Errorf("Log has %d requests, want 5", n)
	}
}

func TestMatchers(t *testing.T) {
	tests := []struct {
		name, method, url string
		reads, bucket     bool
	}{
		{"xml read", "GET", "/in/a/b.txt", true, true},
		{"json read", "GET", "/storage/v1/b/in/o/a%2Fb.txt?alt=media", true, true},
		{"download read", "GET", "/download/storage/v1/b/in/o/x?alt=media", true, true},
		{"json attrs", "GET", "/storage/v1/b/in/o/x", false, true},
		{"upload", "POST", "/upload/storage/v1/b/in/o?uploadType=multipart", false, true},
		{"other bucket", "GET", "/out/x", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.url, nil)
			if got := ObjectReads("in")(r); got != tt.reads {
				t.Errorf("ObjectReads(%s %s) = %v, want %v", tt.method, tt.url, got, tt.reads)
			}
			if got := Bucket("in")(r); got != tt.bucket {
				t.Errorf("Bucket(%s %s) = %v, want %v", tt.method, tt.url, got, tt.bucket)
			}
		})
	}
}
