// Package stack starts Sluice's local engines on loopback: a Pub/Sub server
// (the official emulator when it is installed, else the in-process pstest
// fake) and an in-process fake Cloud Storage server, with the topic,
// subscriptions and buckets the worker expects.
//
// Tests, the demo and the sluice-local binary use it so that every client
// under test talks to a real gRPC or HTTP endpoint, exactly as it would in
// production, only pointed at PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST.
//
// Start sets PUBSUB_EMULATOR_HOST in this process's environment, because the
// fake storage server builds its notification publisher from the environment
// (see Start). For that reason only one Stack may be open in a process at a
// time.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// loopback is the address a Stack binds to unless Config.ListenHost says otherwise, and
// the address it dials its own engines on.
const loopback = "127.0.0.1"

// Pub/Sub engines accepted by Config.PubSub.
const (
	PubSubAuto     = "auto"
	PubSubEmulator = "emulator"
	PubSubPstest   = "pstest"
)

// Config describes the local stack. Its zero value works: every field has a
// default, applied by Start.
type Config struct {
	// ProjectID is the Google Cloud project the topics and subscriptions
	// live in. Default "sluice-local".
	ProjectID string
	// Topic receives the buckets' OBJECT_FINALIZE notifications. Default
	// "sluice-objects".
	Topic string
	// Subscription is the worker's subscription to Topic. Default
	// "sluice-worker".
	Subscription string
	// DeadLetterTopic receives messages that Subscription failed to deliver
	// MaxDeliveryAttempts times. A subscription of the same name is made on
	// it, so dead letters can be read back. Default "sluice-dead-letter".
	DeadLetterTopic string
	// MaxDeliveryAttempts is Subscription's dead-letter threshold. Default 5;
	// Pub/Sub accepts 5 to 100.
	MaxDeliveryAttempts int
	// AckDeadline is Subscription's ack deadline. Default 60s; Pub/Sub
	// accepts 10s to 600s, in whole seconds. Both engines honour it.
	AckDeadline time.Duration

	// Buckets are created empty at start. A bucket that already exists
	// under Dir, from an earlier run, is kept as it is.
	Buckets []string

	// PubSub selects the Pub/Sub engine: PubSubEmulator (the official
	// emulator, which needs the Google Cloud CLI and Java), PubSubPstest (the
	// in-process fake) or PubSubAuto (default: the emulator if installed,
	// else pstest).
	PubSub string

	// Dir holds the storage server's files and the emulator's log. Default:
	// a new temporary directory, removed by Close. A Dir given here is kept,
	// and a later Start on it finds its buckets and objects again. Pub/Sub
	// state is not kept: both engines hold it in memory only.
	Dir string

	// ListenHost is the address the engines bind to. Default 127.0.0.1. Set "0.0.0.0"
	// only where other hosts must reach the stack, as in a cluster's local profile.
	ListenHost string
	// PublicHost is the host name clients use for the storage server, which answers
	// XML-API reads only when the request's Host matches it. Default: the address the
	// stack itself dials (127.0.0.1). In a cluster, the Service's name.
	PublicHost string

	// PubSubPort and StoragePort are the loopback ports to serve on; 0 (the
	// default) picks a free port.
	PubSubPort  int
	StoragePort int

	// Log receives lifecycle logs. Default: discard.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.ProjectID == "" {
		c.ProjectID = "sluice-local"
	}
	if c.Topic == "" {
		c.Topic = "sluice-objects"
	}
	if c.Subscription == "" {
		c.Subscription = "sluice-worker"
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = "sluice-dead-letter"
	}
	if c.MaxDeliveryAttempts == 0 {
		c.MaxDeliveryAttempts = 5
	}
	if c.AckDeadline == 0 {
		c.AckDeadline = 60 * time.Second
	}
	if c.PubSub == "" {
		c.PubSub = PubSubAuto
	}
	if c.ListenHost == "" {
		c.ListenHost = loopback
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first setting Pub/Sub or the stack would reject.
// Start calls it after applying defaults.
func (c Config) Validate() error {
	switch c.PubSub {
	case PubSubAuto, PubSubEmulator, PubSubPstest:
	default:
		return fmt.Errorf("pubsub engine %q: want %q, %q or %q",
			c.PubSub, PubSubAuto, PubSubEmulator, PubSubPstest)
	}
	if c.MaxDeliveryAttempts < 5 || c.MaxDeliveryAttempts > 100 {
		return fmt.Errorf("max delivery attempts %d: want 5 to 100", c.MaxDeliveryAttempts)
	}
	if c.AckDeadline < 10*time.Second || c.AckDeadline > 600*time.Second ||
		c.AckDeadline%time.Second != 0 {
		return fmt.Errorf("ack deadline %v: want whole seconds from 10s to 600s", c.AckDeadline)
	}
	for _, p := range []int{c.PubSubPort, c.StoragePort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("port %d: want 0 to 65535", p)
		}
	}
	if net.ParseIP(c.ListenHost) == nil {
		return fmt.Errorf("listen host %q: want an IP address", c.ListenHost)
	}
	if c.Topic == c.DeadLetterTopic {
		return fmt.Errorf("topic and dead-letter topic are both %q", c.Topic)
	}
	return nil
}

// Stack is a running set of local engines. Its exported fields are set by
// Start and must not be changed. Methods are safe for concurrent use; Close
// ends the Stack, and calls made after it fail.
type Stack struct {
	// PubSubHost and StorageHost are the engines' "127.0.0.1:port"
	// addresses, the values of PUBSUB_EMULATOR_HOST and
	// STORAGE_EMULATOR_HOST.
	PubSubHost  string
	StorageHost string

	// PubSub is the engine that was started: PubSubEmulator or PubSubPstest.
	PubSub string
	// PubSubStartup is how long the Pub/Sub engine took to answer.
	PubSubStartup time.Duration

	ProjectID       string
	Topic           string
	Subscription    string
	DeadLetterTopic string // also the name of its subscription

	log     *slog.Logger
	tempDir string // removed by Close; "" when Config.Dir was given

	pubsub      pubsubEngine
	pubsubAdmin *pubsub.Client
	storage     *fakestorage.Server
	storageHTTP *http.Server // serves storage on the stack's own listener
	storageAPI  *storage.Client
	env         *envClaim

	closeOnce sync.Once
	closeErr  error
}

// Start starts the Pub/Sub and storage engines on loopback, creates the
// topics, subscriptions and buckets of cfg, and returns once all are ready.
// ctx bounds only the start: the engines run until Close. On error, whatever
// was started has been stopped.
//
// Start sets PUBSUB_EMULATOR_HOST in this process's environment to the stack's
// Pub/Sub address, and Close restores it. fake-gcs-server publishes bucket
// notifications through a Pub/Sub client it builds from the environment at
// its first publish, so without it Notify's messages would go to the real
// service. Start fails if another Stack in this process is still open.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("local stack: %w", err)
	}
	s := &Stack{
		ProjectID:       cfg.ProjectID,
		Topic:           cfg.Topic,
		Subscription:    cfg.Subscription,
		DeadLetterTopic: cfg.DeadLetterTopic,
		log:             cfg.Log,
	}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("local stack: %w", err), s.Close())
		}
	}()

	if s.env, err = claimEnv(); err != nil {
		return nil, err
	}
	dir, err := s.workDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := s.startPubSub(ctx, cfg, dir); err != nil {
		return nil, err
	}
	if err := s.env.set(s.PubSubHost); err != nil {
		return nil, err
	}
	if err := s.startStorage(ctx, cfg, filepath.Join(dir, "storage")); err != nil {
		return nil, err
	}

	s.log.Info("local stack ready",
		slog.String("pubsub", s.PubSub),
		slog.String("pubsub_host", s.PubSubHost),
		slog.String("storage_host", s.StorageHost),
		slog.String("project", s.ProjectID),
		slog.String("topic", s.Topic),
		slog.String("subscription", s.Subscription),
		slog.String("dir", dir),
	)
	return s, nil
}

// workDir returns the directory for the engines' files, making a temporary
// one when dir is empty.
func (s *Stack) workDir(dir string) (string, error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sluice-local-")
		if err != nil {
			return "", err
		}
		s.tempDir = tmp
		return tmp, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// Env returns the environment entries that point a child process's Google
// Cloud clients at the stack, for exec.Cmd.Env (appended to os.Environ()).
func (s *Stack) Env() []string {
	return []string{
		"PUBSUB_EMULATOR_HOST=" + s.PubSubHost,
		"STORAGE_EMULATOR_HOST=" + s.StorageHost,
	}
}

// Close stops everything Start started, the emulator's whole process group
// included, restores PUBSUB_EMULATOR_HOST, and removes the temporary Dir if
// Start made one. It blocks until the engines have stopped. Later calls do
// nothing and return the first call's result.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Stack) close() error {
	var errs []error
	// Storage first: it owns the notification publisher, which must not
	// outlive the Pub/Sub engine it publishes to.
	if s.storageAPI != nil {
		errs = append(errs, s.storageAPI.Close())
	}
	if s.storageHTTP != nil {
		errs = append(errs, s.storageHTTP.Close())
	}
	if s.storage != nil {
		s.storage.Stop()
	}
	if s.pubsubAdmin != nil {
		errs = append(errs, s.pubsubAdmin.Close())
	}
	if s.pubsub != nil {
		errs = append(errs, s.pubsub.stop())
	}
	if s.env != nil {
		errs = append(errs, s.env.release())
	}
	if s.tempDir != "" {
		errs = append(errs, os.RemoveAll(s.tempDir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close local stack: %w", err)
	}
	s.log.Info("local stack closed")
	return nil
}
