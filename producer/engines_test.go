package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sluice-dev/sluice/pkg/notify"
)

const (
	testProject = "proj"
	testTopic   = "objects"
)

// engines are the local Pub/Sub and Cloud Storage a test runs the producer against.
type engines struct {
	ps  *pstest.Server
	gcs *fakestorage.Server
	env []string // the environment that points a producer process at them
}

// startEngines starts pstest with the test topic and fake-gcs-server holding objects,
// both on loopback, and points this process's environment at them. Tests that call it
// cannot run in parallel.
func startEngines(t *testing.T, objects ...fakestorage.Object) *engines {
	t.Helper()
	return startEnginesWith(t, nil, objects...)
}

// startEnginesWith is startEngines with pstest reactors, to inject errors.
func startEnginesWith(t *testing.T, reactors []pstest.ServerReactorOption, objects ...fakestorage.Object) *engines {
	t.Helper()
	ps := pstest.NewServer(reactors...)
	t.Cleanup(func() { ps.Close() })
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	client, err := pubsub.NewClient(context.Background(), testProject, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	topic := &pubsubpb.Topic{Name: "projects/" + testProject + "/topics/" + testTopic}
	if _, err := client.TopicAdminClient.CreateTopic(context.Background(), topic); err != nil {
		t.Fatal(err)
	}

	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme:         "http",
		Host:           "127.0.0.1",
		InitialObjects: objects,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Stop)

	e := &engines{ps: ps, gcs: gcs, env: []string{
		"PUBSUB_EMULATOR_HOST=" + ps.Addr,
		"STORAGE_EMULATOR_HOST=" + gcs.URL(),
		"SLUICE_PROJECT=" + testProject,
		"SLUICE_TOPIC=" + testTopic,
	}}
	for _, kv := range e.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return e
}

// published decodes every message the topic received, sorted by object name.
func (e *engines) published(t *testing.T) []notify.Event {
	t.Helper()
	var evs []notify.Event
	for _, m := range e.ps.Messages() {
		ev, err := notify.Decode(m.Attributes, m.Data)
		if err != nil {
			t.Fatalf("Decode(%v, %q): %v", m.Attributes, m.Data, err)
		}
		evs = append(evs, ev)
	}
	slices.SortFunc(evs, func(a, b notify.Event) int { return strings.Compare(a.Name, b.Name) })
	return evs
}

// runProducer runs the command line in process and returns its error and stderr.
func runProducer(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// object returns a fake object named name in bucket with content.
func object(bucket, name, content string) fakestorage.Object {
	return fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name},
		Content:     []byte(content),
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func objectsNamed(bucket string, names ...string) []fakestorage.Object {
	var objs []fakestorage.Object
	for _, n := range names {
		objs = append(objs, object(bucket, n, "content of "+n))
	}
	return objs
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })
