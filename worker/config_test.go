package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table from the code")

const (
	readmePath = "../README.md"
	beginMark  = "<!-- worker-config:begin -->"
	endMark    = "<!-- worker-config:end -->"
)

// TestREADMEConfigTable checks that the README's configuration reference is exactly what
// `worker -h` prints, so documentation and code cannot drift apart.
func TestREADMEConfigTable(t *testing.T) {
	var usage bytes.Buffer
	if err := printUsage(&usage); err != nil {
		t.Fatal(err)
	}
	want := beginMark + "\n```\n" + usage.String() + "```\n" + endMark

	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)" + regexp.QuoteMeta(beginMark) + ".*?" + regexp.QuoteMeta(endMark))
	got := block.Find(readme)
	if got == nil {
		t.Fatalf("README.md has no %s ... %s block", beginMark, endMark)
	}
	if string(got) == want {
		return
	}
	if *update {
		out := block.ReplaceAllLiteral(readme, []byte(want))
		if err := os.WriteFile(readmePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md configuration table is out of date; run go test ./worker -update\ngot:\n%s\nwant:\n%s", got, want)
}

// TestUsageListsEveryVariable checks that every configuration field appears in the usage
// text with a description.
func TestUsageListsEveryVariable(t *testing.T) {
	var usage bytes.Buffer
	if err := printUsage(&usage); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"SLUICE_PROJECT", "SLUICE_SUBSCRIPTION", "SLUICE_PROCESSOR", "SLUICE_OUTPUT_BUCKET",
		"SLUICE_MAX_OUTSTANDING_MESSAGES", "SLUICE_MAX_OUTSTANDING_BYTES", "SLUICE_STREAMS",
		"SLUICE_OBJECT_TIMEOUT", "SLUICE_DRAIN_TIMEOUT", "SLUICE_HTTP_ADDR", "SLUICE_LOG_LEVEL",
	} {
		line := lineWith(usage.String(), name)
		if line == "" {
			t.Errorf("usage lacks %s", name)
			continue
		}
		if len(strings.Fields(line)) < 3 {
			t.Errorf("usage line for %s has no description: %q", name, line)
		}
	}
}

func lineWith(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix+" ") {
			return l
		}
	}
	return ""
}

func TestLoadConfig(t *testing.T) {
	base := map[string]string{
		"SLUICE_PROJECT": "p", "SLUICE_SUBSCRIPTION": "s", "SLUICE_OUTPUT_BUCKET": "out",
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"missing subscription", map[string]string{"SLUICE_SUBSCRIPTION": ""}, "SLUICE_SUBSCRIPTION required"},
		{"all required missing", map[string]string{"SLUICE_PROJECT": "", "SLUICE_SUBSCRIPTION": "", "SLUICE_OUTPUT_BUCKET": ""},
			"SLUICE_PROJECT, SLUICE_SUBSCRIPTION, SLUICE_OUTPUT_BUCKET required"},
		{"unknown processor", map[string]string{"SLUICE_PROCESSOR": "resize"}, `"resize"`},
		{"bad duration", map[string]string{"SLUICE_OBJECT_TIMEOUT": "soon"}, "OBJECT_TIMEOUT"},
		{"bad log level", map[string]string{"SLUICE_LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad log format", map[string]string{"SLUICE_LOG_FORMAT": "xml"}, "LOG_FORMAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range base {
				t.Setenv(k, v)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := loadConfig()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("loadConfig() = %v", err)
				}
				if c.Processor != "checksum" || c.ObjectTimeout <= 0 || c.WorkerID == "" {
					t.Errorf("defaults not applied: %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("loadConfig() = %v, want an error mentioning %s", err, tt.wantErr)
			}
		})
	}
}

func TestConfigLogValue(t *testing.T) {
	t.Setenv("SLUICE_PROJECT", "p")
	t.Setenv("SLUICE_SUBSCRIPTION", "s")
	t.Setenv("SLUICE_OUTPUT_BUCKET", "out")
	t.Setenv("SLUICE_OBJECT_TIMEOUT", "90s")
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
	var line struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %s: %v", buf.Bytes(), err)
	}
	want := map[string]string{"SLUICE_PROJECT": "p", "SLUICE_OBJECT_TIMEOUT": "1m30s", "SLUICE_PROCESSOR": "checksum"}
	for k, v := range want {
		if line.Config[k] != v {
			t.Errorf("logged %s = %q, want %q (all: %v)", k, line.Config[k], v, line.Config)
		}
	}
}
