package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// pubsubEngine is a running Pub/Sub server.
type pubsubEngine interface {
	// stop shuts the server down and blocks until it has gone.
	stop() error
}

// startPubSub starts the engine cfg.PubSub selects, waits until it answers,
// and creates the topics and subscriptions.
func (s *Stack) startPubSub(ctx context.Context, cfg Config, dir string) error {
	engine := cfg.PubSub
	var launcher string
	if engine != PubSubPstest {
		var err error
		launcher, err = findEmulator()
		switch {
		case err == nil:
			engine = PubSubEmulator
		case engine == PubSubEmulator:
			return fmt.Errorf("find pubsub emulator: %w", err)
		default:
			s.log.Info("pubsub emulator not found, using pstest", slog.Any("err", err))
			engine = PubSubPstest
		}
	}

	start := time.Now()
	switch engine {
	case PubSubEmulator:
		if err := s.startEmulator(ctx, cfg, launcher, dir); err != nil {
			return err
		}
	default:
		srv, err := startPstest(cfg.ListenHost, cfg.PubSubPort)
		if err != nil {
			return err
		}
		_, port, err := net.SplitHostPort(srv.Addr)
		if err != nil {
			return fmt.Errorf("pstest address %q: %w", srv.Addr, err)
		}
		s.pubsub, s.PubSubHost = srv, net.JoinHostPort(dialHost(cfg.ListenHost), port)
	}
	s.PubSub = engine

	if s.pubsubAdmin == nil {
		admin, err := newPubSubClient(ctx, s.PubSubHost, cfg.ProjectID)
		if err != nil {
			return err
		}
		s.pubsubAdmin = admin
	}
	s.PubSubStartup = time.Since(start)
	s.log.Info("pubsub started",
		slog.String("engine", engine),
		slog.String("host", s.PubSubHost),
		slog.String("startup", s.PubSubStartup.Round(time.Millisecond).String()),
	)
	return s.createSubscriptions(ctx, cfg)
}

// emulatorAttempts is how often a start on a free port is tried. The emulator binds its
// port itself, after the stack picked it, so another process can take the port between
// the two; the emulator then reports a bind failure and another free port is tried.
const emulatorAttempts = 3

// startEmulator starts the official emulator and waits until it answers, retrying on a
// new port when one picked as free was taken before the emulator bound it.
func (s *Stack) startEmulator(ctx context.Context, cfg Config, launcher, dir string) error {
	for attempt := 1; ; attempt++ {
		em, err := startEmulator(launcher, cfg.ListenHost, cfg.PubSubPort, dir)
		if err != nil {
			return err
		}
		admin, err := newPubSubClient(ctx, em.host, cfg.ProjectID)
		if err == nil {
			err = em.waitReady(ctx, admin, cfg.ProjectID)
			if err == nil {
				s.pubsub, s.PubSubHost, s.pubsubAdmin = em, em.host, admin
				return nil
			}
			admin.Close()
		}
		portTaken := em.out.fatal.Load()
		if serr := em.stop(); serr != nil {
			return errors.Join(err, serr)
		}
		if !portTaken || cfg.PubSubPort != 0 || attempt == emulatorAttempts {
			return err
		}
		s.log.Warn("pubsub emulator could not bind its port, retrying on another",
			slog.Int("attempt", attempt), slog.Any("err", err))
	}
}

// pstestServer adapts the in-process fake to pubsubEngine.
type pstestServer struct{ *pstest.Server }

func (p pstestServer) stop() error { return p.Close() }

// startPstest serves the in-process fake on loopback. pstest panics when it
// cannot listen; that is turned into an error here.
func startPstest(listen string, port int) (_ pstestServer, err error) {
	addr := net.JoinHostPort(listen, strconv.Itoa(port))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start pstest on %s: %v", addr, r)
		}
	}()
	return pstestServer{pstest.NewServerWithAddress(addr)}, nil
}

// newPubSubClient dials a local engine without credentials, the way the
// client library does by itself when PUBSUB_EMULATOR_HOST is set.
func newPubSubClient(ctx context.Context, host, project string) (*pubsub.Client, error) {
	c, err := pubsub.NewClient(ctx, project,
		option.WithEndpoint(host),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithTelemetryDisabled(),
	)
	if err != nil {
		return nil, fmt.Errorf("pubsub client for %s: %w", host, err)
	}
	return c, nil
}

// createSubscriptions creates the topic, the dead-letter topic, the worker's
// subscription with its dead-letter policy, and a subscription on the
// dead-letter topic so dead letters are kept for reading.
func (s *Stack) createSubscriptions(ctx context.Context, cfg Config) error {
	topic := s.topicName(cfg.Topic)
	deadLetter := s.topicName(cfg.DeadLetterTopic)
	for _, name := range []string{topic, deadLetter} {
		_, err := s.pubsubAdmin.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name})
		if err != nil {
			return fmt.Errorf("create topic %s: %w", name, err)
		}
	}

	subs := []*pubsubpb.Subscription{
		{
			Name:               s.subscriptionName(cfg.DeadLetterTopic),
			Topic:              deadLetter,
			AckDeadlineSeconds: int32(cfg.AckDeadline / time.Second),
		},
		{
			Name:               s.subscriptionName(cfg.Subscription),
			Topic:              topic,
			AckDeadlineSeconds: int32(cfg.AckDeadline / time.Second),
			DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{
				DeadLetterTopic:     deadLetter,
				MaxDeliveryAttempts: int32(cfg.MaxDeliveryAttempts),
			},
		},
	}
	for _, sub := range subs {
		_, err := s.pubsubAdmin.SubscriptionAdminClient.CreateSubscription(ctx, sub)
		if err != nil {
			return fmt.Errorf("create subscription %s: %w", sub.Name, err)
		}
	}
	return nil
}

func (s *Stack) topicName(id string) string {
	return fmt.Sprintf("projects/%s/topics/%s", s.ProjectID, id)
}

func (s *Stack) subscriptionName(id string) string {
	return fmt.Sprintf("projects/%s/subscriptions/%s", s.ProjectID, id)
}
