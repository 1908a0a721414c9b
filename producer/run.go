package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/kelseyhightower/envconfig"
)

// errUsage is returned for a command line that cannot run; usage has been printed.
var errUsage = errors.New("usage")

// errFailed is returned when some objects were not published; the summary says which
// and the failures file holds them.
var errFailed = errors.New("some objects were not published")

// env is every environment variable the producer reads. Cloud clients read
// PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST themselves; the OpenTelemetry SDK reads
// the other OTEL_* variables (headers, TLS, resource) itself.
type env struct {
	Project string `envconfig:"SLUICE_PROJECT"`
	Topic   string `envconfig:"SLUICE_TOPIC"`

	OTLPEndpoint        string `envconfig:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	OTLPMetricsEndpoint string `envconfig:"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"`
	OTLPTracesEndpoint  string `envconfig:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	MetricsExporter     string `envconfig:"OTEL_METRICS_EXPORTER"`
	TracesExporter      string `envconfig:"OTEL_TRACES_EXPORTER"`
}

// stdio is the process's standard streams, passed down so tests can supply their own.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
	log         *slog.Logger
}

const usage = `Usage: producer <command> [flags]

Commands:
  publish    publish one message per object named in an input list
  backfill   list a bucket and publish one message per object
  ranges     print balanced name ranges of a bucket, for parallel backfills

Run "producer <command> -h" for a command's flags.
SLUICE_PROJECT and SLUICE_TOPIC give the defaults of --project and --topic.
`

// run executes the command line args and returns its outcome; it never exits.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var e env
	if err := envconfig.Process("", &e); err != nil {
		return fmt.Errorf("read environment: %w", err)
	}
	std := stdio{in: stdin, out: stdout, errOut: stderr, log: slog.New(slog.NewJSONHandler(stderr, nil))}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return flag.ErrHelp
	case "publish":
		return runPublish(ctx, e, args[1:], std)
	case "backfill":
		return runBackfill(ctx, e, args[1:], std)
	case "ranges":
		return runRanges(ctx, args[1:], std)
	}
	fmt.Fprintf(stderr, "producer: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

// parseFlags parses args into fs, turning flag errors into errUsage and -h into
// flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, errOut io.Writer) error {
	fs.SetOutput(errOut)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "producer %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// newPubsub builds the Pub/Sub client. With PUBSUB_EMULATOR_HOST set, the library
// connects to the emulator without credentials.
func newPubsub(ctx context.Context, project string) (*pubsub.Client, error) {
	if project == "" {
		return nil, fmt.Errorf("%w: no project: set --project or SLUICE_PROJECT", errUsage)
	}
	c, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	return c, nil
}

// newStorage builds the Cloud Storage client. With STORAGE_EMULATOR_HOST set, the
// library talks to that host without credentials.
func newStorage(ctx context.Context) (*storage.Client, error) {
	c, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	return c, nil
}

// isTerminal reports whether w is a terminal, for the progress bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
