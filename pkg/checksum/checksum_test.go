package checksum_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/checksum"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/output"
	"github.com/sluice-dev/sluice/pkg/process"
)

const (
	in     = "in"
	out    = "out"
	prefix = "results/"
)

var now = time.Date(2026, 12, 3, 13, 20, 0, 0, time.UTC)

// fixture is a stack whose storage files are under dir, with a checksum processor.
type fixture struct {
	env  *stacktest.Env
	dir  string
	proc *checksum.Processor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	env := stacktest.Start(t, stack.Config{Buckets: []string{in, out}, Dir: dir})
	proc, err := checksum.New(env.Storage, checksum.Config{
		Bucket: out,
		Prefix: prefix,
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, dir: dir, proc: proc}
}

// payload is the notification payload's view of an upload: the hashes and size the
// service reported when it was written.
func payload(a *storage.ObjectAttrs) notify.Event {
	return notify.Event{
		Type: notify.Finalize, Bucket: a.Bucket, Name: a.Name, Generation: a.Generation,
		Size: a.Size, CRC32C: a.CRC32C, HasCRC32C: true, MD5: a.MD5,
	}
}

// process reads ev's object as the worker does (stored bytes, the stored CRC32C from
// the read) and runs the processor on it.
func (f *fixture) process(t *testing.T, ev notify.Event) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := f.env.Storage.Bucket(ev.Bucket).Object(ev.Name).Generation(ev.Generation).ReadCompressed(true)
	r, err := h.NewReader(ctx)
	if err != nil {
		t.Fatalf("open %s: %v", ev.Key(), err)
	}
	defer r.Close()
	return f.proc.Process(ctx, &process.Object{
		Event:     ev,
		Size:      r.Attrs.Size,
		CRC32C:    r.Attrs.CRC32C,
		HasCRC32C: true,
		Body:      r,
		Worker:    "test-worker",
	})
}

func (f *fixture) record(t *testing.T, key notify.Key) checksum.Record {
	t.Helper()
	data, err := f.env.Read(out, checksum.RecordName(prefix, key))
	if err != nil {
		t.Fatalf("read record of %s: %v", key, err)
	}
	var rec checksum.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("record of %s is not JSON: %v", key, err)
	}
	return rec
}

// verdict is the part of a record that says what matched.
type verdict struct {
	Match    bool
	Checked  []string
	Mismatch []string
}

func verdictOf(r checksum.Record) verdict { return verdict{r.Match, r.Checked, r.Mismatch} }

var allChecks = []string{"size", "crc32c", "payload_crc32c", "payload_md5", "payload_size"}

func TestPayloadMismatch(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		mangle func(*notify.Event)
		want   verdict
	}{
		{
			name:   "all match",
			mangle: func(*notify.Event) {},
			want:   verdict{Match: true, Checked: allChecks},
		},
		{
			name:   "payload md5",
			mangle: func(ev *notify.Event) { ev.MD5 = md5.New().Sum(nil) },
			want:   verdict{Checked: allChecks, Mismatch: []string{"payload_md5"}},
		},
		{
			name:   "payload crc32c",
			mangle: func(ev *notify.Event) { ev.CRC32C++ },
			want:   verdict{Checked: allChecks, Mismatch: []string{"payload_crc32c"}},
		},
		{
			name:   "payload size",
			mangle: func(ev *notify.Event) { ev.Size++ },
			want:   verdict{Checked: allChecks, Mismatch: []string{"payload_size"}},
		},
		{
			name: "all of the payload",
			mangle: func(ev *notify.Event) {
				ev.MD5, ev.CRC32C, ev.Size = []byte("0123456789abcdef"), ev.CRC32C^1, 0
			},
			want: verdict{
				Checked:  allChecks,
				Mismatch: []string{"payload_crc32c", "payload_md5", "payload_size"},
			},
		},
		{
			name:   "no payload hashes",
			mangle: func(ev *notify.Event) { ev.MD5, ev.HasCRC32C, ev.Size = nil, false, -1 },
			want:   verdict{Match: true, Checked: []string{"size", "crc32c"}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.env.Upload(t, in, "obj-"+string(rune('a'+i)), []byte("some content, "+tt.name))
			ev := payload(a)
			tt.mangle(&ev)
			if err := f.process(t, ev); err != nil {
				t.Fatalf("Process = %v, want nil: a mismatch is a record, not an error", err)
			}
			rec := f.record(t, ev.Key())
			if diff := cmp.Diff(tt.want, verdictOf(rec)); diff != "" {
				t.Errorf("record verdict (-want +got):\n%s", diff)
			}
			if rec.Size != a.Size {
				t.Errorf("record size = %d, want the %d bytes read", rec.Size, a.Size)
			}
		})
	}
}

func TestStoredCRCMismatch(t *testing.T) {
	f := newFixture(t)
	a := f.env.Upload(t, in, "rotten", []byte("hello world"))
	// Corrupt the stored bytes, keeping the size and the stored metadata: the filesystem
	// backend of fake-gcs-server keeps an object's content in DIR/storage/BUCKET/NAME.
	stored := filepath.Join(f.dir, "storage", in, "rotten")
	if err := os.WriteFile(stored, []byte("HELLO WORLD"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := f.process(t, payload(a)); err != nil {
		t.Fatalf("Process = %v, want nil: a stored CRC mismatch is recorded", err)
	}
	rec := f.record(t, payload(a).Key())
	want := verdict{Checked: allChecks, Mismatch: []string{"crc32c", "payload_crc32c", "payload_md5"}}
	if diff := cmp.Diff(want, verdictOf(rec)); diff != "" {
		t.Errorf("record verdict (-want +got):\n%s", diff)
	}
	sum := crc32.Checksum([]byte("HELLO WORLD"), crc32.MakeTable(crc32.Castagnoli))
	if got := decodeCRC(t, rec.CRC32C); got != sum {
		t.Errorf("record crc32c = %d, want %d, the hash of the bytes read", got, sum)
	}
}

func decodeCRC(t *testing.T, s string) uint32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 4 {
		t.Fatalf("crc32c %q is not 4 bytes of base64: %v", s, err)
	}
	return binary.BigEndian.Uint32(b)
}

// failingReader returns its data, then err instead of io.EOF.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestReadErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	boom := errors.New("connection reset")
	const data = "twelve bytes"
	good := crc32.Checksum([]byte(data), crc32.MakeTable(crc32.Castagnoli))
	tests := []struct {
		name   string
		size   int64
		crc    uint32
		record bool
	}{
		// Less than the stored size was read: the read broke, a retry may succeed.
		{name: "cut short", size: int64(len(data)) + 10, crc: good + 1},
		// Everything read and its hash matches: whatever failed was not the content.
		{name: "all read, hash matches", size: int64(len(data)), crc: good},
		// Everything read and its hash differs: the client's CRC check failed.
		{name: "all read, hash differs", size: int64(len(data)), crc: good + 1, record: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := notify.Event{
				Type: notify.Finalize, Bucket: in, Name: "broken", Generation: int64(i + 1), Size: -1,
			}
			err := f.proc.Process(ctx, &process.Object{
				Event: ev, Size: tt.size, CRC32C: tt.crc, HasCRC32C: true,
				Body: &failingReader{r: strings.NewReader(data), err: boom},
			})
			_, rerr := f.env.Read(out, checksum.RecordName(prefix, ev.Key()))
			if tt.record {
				if err != nil || rerr != nil {
					t.Errorf("Process = %v (record: %v), want nil and a record", err, rerr)
				}
				return
			}
			if !errors.Is(err, boom) || process.IsPermanent(err) {
				t.Errorf("Process = %v, want the transient read error", err)
			}
			if !errors.Is(rerr, storage.ErrObjectNotExist) {
				t.Errorf("record after a failed read: %v, want none", rerr)
			}
		})
	}
}

func TestNameTooLong(t *testing.T) {
	f := newFixture(t)
	// A source name may itself be up to 1024 bytes; the record's name adds to it.
	name := strings.Repeat("n", output.MaxNameBytes-8)
	body := &failingReader{r: strings.NewReader("x"), err: errors.New("body was read")}
	err := f.proc.Process(context.Background(), &process.Object{
		Event: notify.Event{Type: notify.Finalize, Bucket: in, Name: name, Generation: 1, Size: -1},
		Size:  1,
		Body:  body,
	})
	if !process.IsPermanent(err) || !errors.Is(err, output.ErrNameTooLong) {
		t.Errorf("Process(%d-byte name) = %v, want a permanent ErrNameTooLong", len(name), err)
	}
}
