package notify

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// notificationCase is one file of testdata/cases.
type notificationCase struct {
	About      string            `json:"about"`
	Attributes map[string]string `json:"attributes"`
	Data       string            `json:"data"`
	Expect     struct {
		Outcome    string `json:"outcome"`
		Reason     string `json:"reason"`
		Bucket     string `json:"bucket"`
		Name       string `json:"name"`
		Generation int64  `json:"generation"`
		Size       *int64 `json:"size"`
	} `json:"expect"`
}

func TestDecodeNotificationCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases found: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c notificationCase
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			ev, err := Decode(c.Attributes, []byte(c.Data))
			switch c.Expect.Outcome {
			case "reject":
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Decode = %+v, %v; want an ErrInvalid error", ev, err)
				}
				if !strings.Contains(err.Error(), c.Expect.Reason) {
					t.Errorf("Decode error %q does not mention %q", err, c.Expect.Reason)
				}
			case "skip":
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if got := ev.SkipReason(); got != c.Expect.Reason {
					t.Errorf("SkipReason() = %q, want %q", got, c.Expect.Reason)
				}
			case "process":
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if r := ev.SkipReason(); r != "" {
					t.Fatalf("SkipReason() = %q, want none", r)
				}
				want := Key{c.Expect.Bucket, c.Expect.Name, c.Expect.Generation}
				if diff := cmp.Diff(want, ev.Key()); diff != "" {
					t.Errorf("Key() mismatch (-want +got):\n%s", diff)
				}
				if c.Expect.Size != nil && ev.Size != *c.Expect.Size {
					t.Errorf("Size = %d, want %d", ev.Size, *c.Expect.Size)
				}
				if c.Attributes[AttrPayloadFormat] == PayloadNone && ev.Size != -1 {
					t.Errorf("Size = %d for a NONE payload, want -1 (unknown)", ev.Size)
				}
			default:
				t.Fatalf("unknown outcome %q", c.Expect.Outcome)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	finalize := func(edit func(map[string]string)) map[string]string {
		a := map[string]string{
			AttrEventType:     string(Finalize),
			AttrBucket:        "b",
			AttrObject:        "o",
			AttrGeneration:    "7",
			AttrPayloadFormat: PayloadNone,
		}
		edit(a)
		return a
	}
	tests := []struct {
		name  string
		attrs map[string]string
		data  string
		want  string
	}{
		{"no attributes, empty data", nil, "", "no attributes"},
		{"no attributes, some data", nil, `{"name":"o"}`, "no attributes"},
		{"unknown event type", finalize(func(a map[string]string) { a[AttrEventType] = "OBJECT_EXPLODE" }), "", `unsupported event type "OBJECT_EXPLODE"`},
		{"no event type", finalize(func(a map[string]string) { delete(a, AttrEventType) }), "", "no event type"},
		{"no bucket", finalize(func(a map[string]string) { delete(a, AttrBucket) }), "", "no bucket"},
		{"empty object id", finalize(func(a map[string]string) { a[AttrObject] = "" }), "", "no object name"},
		{"generation not a number", finalize(func(a map[string]string) { a[AttrGeneration] = "12abc" }), "", `objectGeneration "12abc"`},
		{"negative generation", finalize(func(a map[string]string) { a[AttrGeneration] = "-3" }), "", `objectGeneration "-3"`},
		{"bad event time", finalize(func(a map[string]string) { a[AttrEventTime] = "yesterday" }), "", "eventTime"},
		{"unknown payload format", finalize(func(a map[string]string) { a[AttrPayloadFormat] = "XML" }), "", `unsupported payload format "XML"`},
		{"JSON payload that is not JSON", finalize(func(a map[string]string) { a[AttrPayloadFormat] = PayloadJSON }), "not json", "payload is not valid JSON"},
		{"empty JSON payload", finalize(func(a map[string]string) { a[AttrPayloadFormat] = PayloadJSON }), "", "payload is not valid JSON"},
		{"payload names another object", finalize(func(a map[string]string) { a[AttrPayloadFormat] = PayloadJSON }), `{"bucket":"b","name":"other"}`, `object name "other" differs`},
		{"payload generation differs", finalize(func(a map[string]string) { a[AttrPayloadFormat] = PayloadJSON }), `{"name":"o","generation":"8"}`, "generation 8 differs"},
		{"payload size not a number", finalize(func(a map[string]string) { a[AttrPayloadFormat] = PayloadJSON }), `{"size":"big"}`, `size "big"`},
		{"payload crc32c too short", finalize(func(a map[string]string) { a[AttrPayloadFormat] = PayloadJSON }), `{"crc32c":"AAA="}`, "crc32c"},
		{"payload md5 not base64", finalize(func(a map[string]string) { a[AttrPayloadFormat] = PayloadJSON }), `{"md5Hash":"!!"}`, "md5Hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode(tt.attrs, []byte(tt.data))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode = %+v, %v; want an ErrInvalid error", ev, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestDecodeKeepsNamesOpaque checks that names reach the event byte for byte, whatever
// characters they hold, from attributes and from the JSON payload alike.
func TestDecodeKeepsNamesOpaque(t *testing.T) {
	names := []string{
		"with space.txt",
		"hash#frag",
		"what?query=1",
		"literal%2Fslash",
		"plus+sign",
		"ünïcødé/日本語.txt",
		"trailing/",
		" leading and trailing spaces ",
		"dot/./segments/../x",
		"tab\tand\nnewline",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			for _, format := range []string{PayloadNone, PayloadJSON} {
				ev := Event{Type: Finalize, Bucket: "b", Name: name, Generation: 42, Size: -1}
				if format == PayloadJSON {
					ev.Size = 10
				}
				attrs, data := Encode(ev)
				if attrs[AttrPayloadFormat] != format {
					t.Fatalf("Encode chose format %q, want %q", attrs[AttrPayloadFormat], format)
				}
				got, err := Decode(attrs, data)
				if err != nil {
					t.Fatalf("Decode(%s): %v", format, err)
				}
				if got.Name != name {
					t.Errorf("Decode(%s).Name = %q, want %q", format, got.Name, name)
				}
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{"bare name", Event{Type: Finalize, Bucket: "b", Name: "n", Size: -1, Source: SourceBackfill}},
		{"generation only", Event{Type: Finalize, Bucket: "b", Name: "n", Generation: 99, Size: -1}},
		{"full", Event{
			Type: Finalize, Bucket: "b", Name: "a/b c", Generation: 1764494047512431, Size: 48213,
			CRC32C: 0xdeadbeef, HasCRC32C: true, MD5: []byte("0123456789abcdef"),
			Overwrote: 5, Time: time.Date(2026, 11, 30, 9, 14, 7, 512431000, time.UTC),
			Source: SourceBackfill,
		}},
		{"zero-byte object", Event{Type: Finalize, Bucket: "b", Name: "dir/", Generation: 3, Size: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs, data := Encode(tt.ev)
			got, err := Decode(attrs, data)
			if err != nil {
				t.Fatalf("Decode(Encode(ev)): %v", err)
			}
			if diff := cmp.Diff(tt.ev, got); diff != "" {
				t.Errorf("Decode(Encode(ev)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("OBJECT_FINALIZE", "b", "o", "1", PayloadJSON, []byte(`{"name":"o","size":"3"}`))
	f.Add("OBJECT_DELETE", "b", "o%2F", "", PayloadNone, []byte(nil))
	f.Fuzz(func(t *testing.T, typ, bucket, name, gen, format string, data []byte) {
		attrs := map[string]string{
			AttrEventType: typ, AttrBucket: bucket, AttrObject: name,
			AttrGeneration: gen, AttrPayloadFormat: format,
		}
		ev, err := Decode(attrs, data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if ev.Bucket == "" || ev.Name == "" || ev.Generation < 0 {
			t.Fatalf("Decode accepted an event with no usable key: %+v", ev)
		}
		if name != "" && ev.Name != name {
			t.Fatalf("Decode changed the name: %q -> %q", name, ev.Name)
		}
	})
}
