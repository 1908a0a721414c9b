package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
)

// storageClient returns a client built the way the worker builds one: plain
// storage.NewClient, pointed at the stack only by STORAGE_EMULATOR_HOST, with
// the default XML reads.
func storageClient(t *testing.T, s *Stack) *storage.Client {
	t.Helper()
	t.Setenv("STORAGE_EMULATOR_HOST", s.StorageHost)
	c, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatalf("storage.NewClient() = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(ctx context.Context, obj *storage.ObjectHandle, data string) (*storage.ObjectAttrs, error) {
	w := obj.NewWriter(ctx)
	w.ContentType = "text/plain"
	if _, err := io.WriteString(w, data); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.Attrs(), nil
}

func read(ctx context.Context, obj *storage.ObjectHandle) (string, error) {
	r, err := obj.NewReader(ctx)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

func mustWrite(t *testing.T, obj *storage.ObjectHandle, data string) *storage.ObjectAttrs {
	t.Helper()
	attrs, err := write(context.Background(), obj, data)
	if err != nil {
		t.Fatalf("write %s = %v", obj.ObjectName(), err)
	}
	return attrs
}

func TestStorageReads(t *testing.T) {
	s := startStack(t, Config{PubSub: PubSubPstest, Buckets: []string{"reads"}})
	ctx := context.Background()
	bucket := storageClient(t, s).Bucket("reads")
	obj := bucket.Object("dir/a b+c.txt")

	first := mustWrite(t, obj, "first")
	second := mustWrite(t, obj, "second")
	if first.Generation == second.Generation {
		t.Fatalf("overwrite kept generation %d", first.Generation)
	}

	tests := []struct {
		name    string
		obj     *storage.ObjectHandle
		want    string
		wantErr error
	}{
		{name: "latest", obj: obj, want: "second"},
		{name: "current generation", obj: obj.Generation(second.Generation), want: "second"},
		// Buckets are not versioned (the filesystem backend cannot be), so
		// an overwritten generation is gone, as in a production bucket
		// without versioning.
		{
			name:    "overwritten generation",
			obj:     obj.Generation(first.Generation),
			wantErr: storage.ErrObjectNotExist,
		},
		{
			name:    "missing object",
			obj:     bucket.Object("missing"),
			wantErr: storage.ErrObjectNotExist,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := read(ctx, tt.obj)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("read(%s) error = %v, want %v", tt.name, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("read(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}

	t.Run("attrs", func(t *testing.T) {
		attrs, err := obj.Attrs(ctx)
		if err != nil {
			t.Fatalf("Attrs() = %v", err)
		}
		got := [3]any{attrs.Size, attrs.Generation, attrs.ContentType}
		want := [3]any{int64(len("second")), second.Generation, "text/plain"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Attrs() size, generation, type (-want +got):\n%s", diff)
		}
	})
}

func TestStorageWriteIfAbsent(t *testing.T) {
	s := startStack(t, Config{PubSub: PubSubPstest, Buckets: []string{"outputs"}})
	plain := storageClient(t, s).Bucket("outputs").Object("result.json")
	obj := plain.If(storage.Conditions{DoesNotExist: true})
	ctx := context.Background()

	if _, err := write(ctx, obj, "one"); err != nil {
		t.Fatalf("first conditional write = %v, want nil", err)
	}
	_, err := write(ctx, obj, "two")
	var apiErr *googleapi.Error
	if !errors.As(err, &apiErr) || apiErr.Code != http.StatusPreconditionFailed {
		t.Fatalf("second conditional write = %v, want HTTP 412", err)
	}
	if got, err := read(ctx, plain); got != "one" || err != nil {
		t.Errorf("read after rejected write = %q, %v, want %q, nil", got, err, "one")
	}
}

func TestStorageList(t *testing.T) {
	s := startStack(t, Config{PubSub: PubSubPstest, Buckets: []string{"listing", "empty"}})
	c := storageClient(t, s)
	for _, name := range []string{"in/a", "in/b", "in/sub/c", "inbox", "out/a"} {
		mustWrite(t, c.Bucket("listing").Object(name), name)
	}

	tests := []struct {
		name   string
		bucket string
		query  *storage.Query
		want   []string
	}{
		{name: "all", bucket: "listing", want: []string{"in/a", "in/b", "in/sub/c", "inbox", "out/a"}},
		{name: "prefix", bucket: "listing", query: &storage.Query{Prefix: "in/"},
			want: []string{"in/a", "in/b", "in/sub/c"}},
		{name: "prefix without slash", bucket: "listing", query: &storage.Query{Prefix: "in"},
			want: []string{"in/a", "in/b", "in/sub/c", "inbox"}},
		{name: "delimiter", bucket: "listing", query: &storage.Query{Prefix: "in/", Delimiter: "/"},
			want: []string{"in/a", "in/b", "prefix:in/sub/"}},
		{name: "no match", bucket: "listing", query: &storage.Query{Prefix: "nope/"}},
		{name: "created empty", bucket: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			it := c.Bucket(tt.bucket).Objects(context.Background(), tt.query)
			for {
				attrs, err := it.Next()
				if errors.Is(err, iterator.Done) {
					break
				}
				if err != nil {
					t.Fatalf("Objects(%+v).Next() = %v", tt.query, err)
				}
				if attrs.Prefix != "" {
					got = append(got, "prefix:"+attrs.Prefix)
					continue
				}
				got = append(got, attrs.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Objects(%+v) (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

// TestPublicHostXMLReads pins down why startStorage sets PublicHost: the
// fake answers the Go client's default XML reads only when the request's
// Host matches it.
func TestPublicHostXMLReads(t *testing.T) {
	tests := []struct {
		name       string
		publicHost func(port int) string
		wantErr    error
	}{
		{name: "default", publicHost: func(int) string { return "" },
			wantErr: storage.ErrObjectNotExist},
		{name: "host and port", publicHost: func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }},
		{name: "host only", publicHost: func(int) string { return "127.0.0.1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, err := freePort(loopback)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
				StorageRoot: t.TempDir(),
				Scheme:      "http",
				Host:        loopback,
				Port:        uint16(port),
				PublicHost:  tt.publicHost(port),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			srv.CreateObject(fakestorage.Object{
				ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "bkt", Name: "obj"},
				Content:     []byte("data"),
			})

			c := storageClient(t, &Stack{StorageHost: fmt.Sprintf("127.0.0.1:%d", port)})
			got, err := read(context.Background(), c.Bucket("bkt").Object("obj"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("read with PublicHost %q = %q, %v, want error %v",
					tt.publicHost(port), got, err, tt.wantErr)
			}
		})
	}
}

// TestListenAndPublicHost checks the settings a cluster uses: bind every address, and
// answer XML reads addressed to a Service name.
func TestListenAndPublicHost(t *testing.T) {
	s := startStack(t, Config{
		PubSub: PubSubPstest, ListenHost: "0.0.0.0", PublicHost: "sluice-local",
		Buckets: []string{"bkt"},
	})
	if !strings.HasPrefix(s.StorageHost, loopback+":") || !strings.HasPrefix(s.PubSubHost, loopback+":") {
		t.Fatalf("hosts %q, %q: want loopback dial addresses", s.StorageHost, s.PubSubHost)
	}
	c := storageClient(t, s)
	mustWrite(t, c.Bucket("bkt").Object("o"), "data")

	_, port, _ := strings.Cut(s.StorageHost, ":")
	req, err := http.NewRequest(http.MethodGet, "http://"+s.StorageHost+"/bkt/o", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "sluice-local:" + port
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "data" {
		t.Errorf("XML read as sluice-local = %d %q, want 200 \"data\"", resp.StatusCode, body)
	}
}
