package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// envPrefix prefixes every variable the worker reads.
const envPrefix = "SLUICE"

// config is everything the worker reads from its environment, in one place.
type config struct {
	Project      string `envconfig:"PROJECT" required:"true" desc:"Google Cloud project that holds the subscription"`
	Subscription string `envconfig:"SUBSCRIPTION" required:"true" desc:"subscription ID to consume"`
	Processor    string `envconfig:"PROCESSOR" default:"checksum" desc:"processor to run: checksum or gzip"`
	OutputBucket string `envconfig:"OUTPUT_BUCKET" required:"true" desc:"bucket the processor writes results or copies to"`
	OutputPrefix string `envconfig:"OUTPUT_PREFIX" default:"" desc:"prefix of every output object name, e.g. results/"`
	GzipLevel    int    `envconfig:"GZIP_LEVEL" default:"0" desc:"gzip processor: compression level 1-9; 0 is gzip's default"`

	MaxOutstandingMessages int           `envconfig:"MAX_OUTSTANDING_MESSAGES" default:"0" desc:"messages held and processed at once; 0 means 8, lowered to fit the memory limit (set explicitly, a value that cannot fit is refused)"`
	MaxInFlightBytes       int64         `envconfig:"MAX_IN_FLIGHT_BYTES" default:"0" desc:"byte budget of objects in flight, each weighed min(size, WRITE_CHUNK_MAX)+1MiB; 0 derives it from the memory limit, negative disables"`
	MaxOutstandingBytes    int           `envconfig:"MAX_OUTSTANDING_BYTES" default:"16777216" desc:"message bytes held at once (messages, not objects)"`
	Streams                int           `envconfig:"STREAMS" default:"1" desc:"StreamingPull streams"`
	ObjectTimeout          time.Duration `envconfig:"OBJECT_TIMEOUT" default:"10m" desc:"deadline for reading, processing and writing one object"`
	DrainTimeout           time.Duration `envconfig:"DRAIN_TIMEOUT" default:"25s" desc:"time in-flight work may finish after SIGTERM; keep below the pod's grace period"`
	ShutdownGrace          time.Duration `envconfig:"SHUTDOWN_GRACE" default:"15s" desc:"time past DRAIN_TIMEOUT shutdown may take before the worker exits 1 with messages unsettled"`
	MaxExtension           time.Duration `envconfig:"MAX_EXTENSION" default:"0" desc:"total lease extension per message; 0 means the object timeout plus 1m"`
	MaxExtensionPeriod     time.Duration `envconfig:"MAX_EXTENSION_PERIOD" default:"60s" desc:"longest single lease extension (10s-600s): the redelivery delay after a crash"`
	WriteChunkMax          int           `envconfig:"WRITE_CHUNK_MAX" default:"8388608" desc:"largest upload buffer per output, in bytes; smaller outputs get less"`
	DeadLetterTopic        string        `envconfig:"DEAD_LETTER_TOPIC" default:"" desc:"topic ID that receives rejected messages before they are acked; empty disables"`

	HTTPAddr  string     `envconfig:"HTTP_ADDR" default:":8080" desc:"address of the health and metrics server; empty disables"`
	LogLevel  slog.Level `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat string     `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	WorkerID  string     `envconfig:"WORKER_ID" default:"" desc:"name of this worker in logs and results; empty means the host name"`

	// OTLPMetrics and OTLPTraces come from the standard OTEL_* variables (see
	// otlpEnabled); the OpenTelemetry SDK reads the exporters' other settings itself.
	OTLPMetrics bool `ignored:"true"`
	OTLPTraces  bool `ignored:"true"`
}

// loadConfig reads the configuration from the environment and checks it.
func loadConfig() (config, error) {
	// Report every missing required variable at once, by its full name. (envconfig stops
	// at the first, names it without the prefix, and accepts one set but empty.)
	var missing []string
	for _, name := range requiredVars() {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return config{}, fmt.Errorf("configuration: %s required (worker -h lists every variable)",
			strings.Join(missing, ", "))
	}
	var c config
	if err := envconfig.Process(envPrefix, &c); err != nil {
		return config{}, fmt.Errorf("configuration: %w", err)
	}
	switch c.Processor {
	case "checksum", "gzip":
	default:
		return config{}, fmt.Errorf("configuration: %s_PROCESSOR %q: want checksum or gzip", envPrefix, c.Processor)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return config{}, fmt.Errorf("configuration: %s_LOG_FORMAT %q: want json or text", envPrefix, c.LogFormat)
	}
	c.OTLPMetrics = otlpEnabled("METRICS")
	c.OTLPTraces = otlpEnabled("TRACES")
	if c.WorkerID == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "worker"
		}
		c.WorkerID = host
	}
	return c, nil
}

// otlpEnabled reports whether signal (METRICS or TRACES) is to be exported over OTLP:
// when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_<signal>_ENDPOINT is set, unless
// OTEL_<signal>_EXPORTER is "none", as the OpenTelemetry specification defines them.
func otlpEnabled(signal string) bool {
	if os.Getenv("OTEL_"+signal+"_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
		os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
}

// requiredVars lists the variables marked required, in declaration order.
func requiredVars() []string {
	var names []string
	t := reflect.TypeOf(config{})
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("required") == "true" {
			names = append(names, envPrefix+"_"+f.Tag.Get("envconfig"))
		}
	}
	return names
}

// LogValue logs the configuration by variable name, with durations and levels as they
// are written in the environment.
func (c config) LogValue() slog.Value {
	v := reflect.ValueOf(c)
	t := v.Type()
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("envconfig")
		if name == "" || name == "-" {
			continue
		}
		attrs = append(attrs, slog.String(envPrefix+"_"+name, fmt.Sprint(v.Field(i).Interface())))
	}
	return slog.GroupValue(attrs...)
}

// usageFormat renders one row per variable: name, default, required, meaning.
const usageFormat = `Sluice worker: consumes a Pub/Sub subscription of Cloud Storage object events and
runs a processor on each object. Configuration comes from the environment:

VARIABLE	DEFAULT	REQUIRED	MEANING
{{range .}}{{usage_key .}}	{{usage_default .}}	{{usage_required .}}	{{usage_description .}}
{{end}}
The standard PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST point the clients at local
engines; GOMEMLIMIT bounds the Go heap. Flow control is fitted to GOMEMLIMIT, or else to
the container's cgroup memory limit. OTEL_EXPORTER_OTLP_ENDPOINT (or its _METRICS_ and
_TRACES_ forms) turns on OTLP/gRPC export of metrics and traces, and the other standard
OTEL_* variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, ...)
apply. Metrics are always served at /metrics on SLUICE_HTTP_ADDR.
`

// printUsage writes the configuration reference.
func printUsage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if err := envconfig.Usagef(envPrefix, &config{}, tw, usageFormat); err != nil {
		return err
	}
	return tw.Flush()
}

// isHelp reports whether args ask for the usage text.
func isHelp(args []string) bool {
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "h", "help":
			return true
		}
	}
	return false
}
