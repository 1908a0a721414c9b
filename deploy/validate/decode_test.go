package validate

import (
	"strings"
	"testing"
)

func TestDecodeIsStrict(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{
			name: "misspelt field",
			in: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: sluice-worker
spec:
  template:
    spec:
      terminationGracePeriod: 40
`,
			wantErr: `unknown field "terminationGracePeriod"`,
		},
		{
			name: "field missing from a local CRD type",
			in: `apiVersion: monitoring.googleapis.com/v1
kind: PodMonitoring
metadata:
  name: sluice-worker
spec:
  endpoints:
    - port: http
      scheme: https
`,
			wantErr: `unknown field "scheme"`,
		},
		{
			name: "kind without a decoder",
			in: `apiVersion: v1
kind: Secret
metadata:
  name: s
`,
			wantErr: "no decoder for v1 Secret",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decode(in) = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeSplitsDocuments(t *testing.T) {
	in := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\n" +
		"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n"
	s, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.ServiceAccounts); got != 2 {
		t.Errorf("Decode(two documents) gave %d ServiceAccounts, want 2", got)
	}
}
