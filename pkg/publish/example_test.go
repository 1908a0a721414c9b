package publish_test

import (
	"context"
	"fmt"
	"log"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/publish"
)

func ExampleNew() {
	ctx := context.Background()
	// An in-process fake; production code passes a client built with pubsub.NewClient.
	srv := pstest.NewServer()
	defer srv.Close()
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	client, err := pubsub.NewClient(ctx, "p", option.WithGRPCConn(conn))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	topic := "projects/p/topics/objects"
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		log.Fatal(err)
	}
	pt := client.Publisher(topic)
	defer pt.Stop()

	p, err := publish.New(pt, publish.Config{
		Settled: func(m publish.Message, id string, err error) {
			if err != nil {
				log.Printf("%q not published: %v", m.Event.Name, err)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for i, name := range []string{"a.txt", "b.txt"} {
		ev := notify.Event{Type: notify.Finalize, Bucket: "b", Name: name, Size: -1}
		if err := p.Publish(ctx, publish.Message{Event: ev, Seq: uint64(i)}); err != nil {
			log.Fatal(err)
		}
	}
	c := p.Close()
	fmt.Printf("published %d, failed %d\n", c.Published, c.Failed)
	// Output: published 2, failed 0
}
