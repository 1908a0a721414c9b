package worker

import (
	"strings"
	"testing"
)

// TestResolveMemory fits flow control to memory limits: defaults are lowered with a
// warning, explicit settings that cannot fit are refused, budgets are clamped.
func TestResolveMemory(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name         string
		cfg          Config
		wantMessages int
		wantBudget   int64
		wantWarnings int
		wantErr      string
	}{
		{
			name:         "no limit: budget never binds",
			cfg:          Config{},
			wantMessages: 8,
			wantBudget:   8 * 9 * mib,
		},
		{
			name:         "512MiB pod: defaults fit",
			cfg:          Config{MemoryLimit: 512 * mib},
			wantMessages: 8,
			wantBudget:   (512 - 32) / 2 * mib,
		},
		{
			name:         "small limit lowers the default",
			cfg:          Config{MemoryLimit: 64 * mib},
			wantMessages: 8, // (64-32)/2 = 16MiB: 9MiB for one object, 7 more overheads
			wantBudget:   16 * mib,
		},
		{
			name:         "tiny limit lowers the default with a warning",
			cfg:          Config{MemoryLimit: 56 * mib},
			wantMessages: 4, // 12MiB: 9 for the first, 3 more
			wantBudget:   12 * mib,
			wantWarnings: 1,
		},
		{
			name:    "explicit messages that cannot fit are refused",
			cfg:     Config{MemoryLimit: 56 * mib, MaxOutstandingMessages: 64},
			wantErr: "set at most 4",
		},
		{
			name:    "one object cannot fit",
			cfg:     Config{MemoryLimit: 40 * mib},
			wantErr: "less than one object's",
		},
		{
			name:         "budget above the limit is clamped",
			cfg:          Config{MemoryLimit: 512 * mib, MaxInFlightBytes: 1 << 30},
			wantMessages: 8,
			wantBudget:   240 * mib,
			wantWarnings: 1,
		},
		{
			name:         "disabled budget stays disabled",
			cfg:          Config{MemoryLimit: 512 * mib, MaxInFlightBytes: -1},
			wantMessages: 8,
			wantBudget:   -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := tt.cfg.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if got.MaxOutstandingMessages != tt.wantMessages || got.MaxInFlightBytes != tt.wantBudget {
				t.Errorf("Resolve() = %d messages, budget %d; want %d, %d",
					got.MaxOutstandingMessages, got.MaxInFlightBytes, tt.wantMessages, tt.wantBudget)
			}
			if len(warnings) != tt.wantWarnings {
				t.Errorf("Resolve() warnings = %q, want %d", warnings, tt.wantWarnings)
			}
		})
	}
}

func TestDeadLetterAttrsFit(t *testing.T) {
	orig := map[string]string{
		"objectId":               strings.Repeat("n", 3000),
		strings.Repeat("k", 300): "v",
	}
	for i := range 120 {
		orig["a"+strings.Repeat("x", i%5)+string(rune('A'+i%26))+string(rune('a'+i/26))] = "v"
	}
	got := deadLetterAttrs(orig, map[string]string{AttrDeadLetterReason: "r", AttrDeadLetterError: "e"})
	if len(got) > maxAttrs {
		t.Errorf("%d attributes, want at most %d", len(got), maxAttrs)
	}
	for k, v := range got {
		if len(k) > maxAttrKey || len(v) > maxAttrValue {
			t.Errorf("attribute %.20q of %d bytes, value %d bytes: over the limits", k, len(k), len(v))
		}
	}
	if got[AttrDeadLetterReason] != "r" || got[AttrDeadLetterTrimmed] != "true" {
		t.Errorf("reason %q, trimmed %q; want r and true", got[AttrDeadLetterReason], got[AttrDeadLetterTrimmed])
	}
	if s := truncate("ab日本", 4); s != "ab" {
		t.Errorf("truncate splits a rune: %q", s)
	}
}
