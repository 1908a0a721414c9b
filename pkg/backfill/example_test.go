package backfill_test

import (
	"context"
	"fmt"
	"log"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/sluice-dev/sluice/pkg/backfill"
)

func ExampleList() {
	var objs []fakestorage.Object
	for _, name := range []string{"logs/1", "logs/2", "img/a.png"} {
		objs = append(objs, fakestorage.Object{
			ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: name},
			Content:     []byte(name),
		})
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{InitialObjects: objs, NoListener: true})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	cfg := backfill.Config{Bucket: "b", Prefix: "logs/"}
	st, err := backfill.List(context.Background(), srv.Client().Bucket("b"), cfg, func(o *storage.ObjectAttrs) error {
		ev := backfill.Event(cfg.Bucket, o)
		fmt.Println(ev.Name, ev.Size)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listed", st.Listed)
	// Output:
	// logs/1 6
	// logs/2 6
	// listed 2
}
