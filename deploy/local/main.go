// Command sluice-local runs Sluice's local engines on loopback until it is
// interrupted: a Pub/Sub server with the worker's topic and subscriptions,
// and a fake Cloud Storage server with the given buckets.
//
// Once everything is up it prints shell export lines for
// PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST on stdout, and nothing else
// there, then the line "ready" on stderr, where its JSON logs also go:
//
//	sluice-local -buckets=in -notify=in:uploads/ >/tmp/sluice.env &
//	# once "ready" has appeared:
//	. /tmp/sluice.env
//
// SIGINT or SIGTERM stops every engine it started, and removes the temporary
// directory unless -dir was given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/sluice-dev/sluice/deploy/local/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sluice-local:", err)
		}
		os.Exit(1)
	}
}

// run starts the stack that args describe, prints its environment to stdout,
// and blocks until ctx is cancelled, then closes the stack.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, notify, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg.Log = log

	s, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	for _, n := range notify {
		if err := s.Notify(ctx, n.bucket, n.prefix); err != nil {
			return err
		}
	}

	for _, kv := range s.Env() {
		if _, err := fmt.Fprintf(stdout, "export %s\n", kv); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, "ready")

	<-ctx.Done()
	log.Info("shutting down", slog.String("reason", context.Cause(ctx).Error()))
	return nil
}

// notification is one -notify flag: a bucket and an optional object prefix.
type notification struct{ bucket, prefix string }

// parseFlags turns the command line into a stack configuration and the
// bucket notifications to create.
func parseFlags(args []string, stderr io.Writer) (stack.Config, []notification, error) {
	var (
		cfg     stack.Config
		buckets string
		notify  []notification
	)
	fs := flag.NewFlagSet("sluice-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.ProjectID, "project", "sluice-local", "Google Cloud project ID")
	fs.StringVar(&cfg.Topic, "topic", "sluice-objects", "topic for bucket notifications")
	fs.StringVar(&cfg.Subscription, "subscription", "sluice-worker", "worker subscription")
	fs.StringVar(&buckets, "buckets", "", "comma-separated buckets to create")
	fs.Func("notify", "`bucket[:prefix]` to send OBJECT_FINALIZE notifications "+
		"to the topic (repeatable; the bucket is created if missing)",
		func(v string) error {
			bucket, prefix, _ := strings.Cut(v, ":")
			if bucket == "" {
				return errors.New("want bucket[:prefix]")
			}
			notify = append(notify, notification{bucket, prefix})
			return nil
		})
	fs.StringVar(&cfg.PubSub, "pubsub", stack.PubSubAuto,
		"Pub/Sub engine: auto (emulator if installed, else pstest), emulator or pstest")
	fs.StringVar(&cfg.Dir, "dir", "", "working directory (default: a temporary one, removed at exit)")
	fs.IntVar(&cfg.PubSubPort, "pubsub-port", 0, "Pub/Sub port (0: any free port)")
	fs.IntVar(&cfg.StoragePort, "storage-port", 0, "storage port (0: any free port)")
	fs.StringVar(&cfg.ListenHost, "listen", "",
		"`address` to bind (default 127.0.0.1); 0.0.0.0 only where other hosts must reach the stack, as in a cluster")
	fs.StringVar(&cfg.PublicHost, "public-host", "",
		"host `name` clients use for storage, e.g. a Service name (default: the local address)")
	if err := fs.Parse(args); err != nil {
		return stack.Config{}, nil, err
	}
	if fs.NArg() > 0 {
		return stack.Config{}, nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	for _, b := range strings.Split(buckets, ",") {
		if b = strings.TrimSpace(b); b != "" {
			cfg.Buckets = append(cfg.Buckets, b)
		}
	}
	for _, n := range notify {
		if !slices.Contains(cfg.Buckets, n.bucket) {
			cfg.Buckets = append(cfg.Buckets, n.bucket)
		}
	}
	return cfg, notify, nil
}
