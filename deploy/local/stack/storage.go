package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// startStorage serves fake-gcs-server on loopback with its filesystem
// backend under root, and creates cfg.Buckets.
func (s *Stack) startStorage(ctx context.Context, cfg Config, root string) error {
	// The stack holds the listener from the start, so a port picked here cannot be taken
	// by another process before the server binds it.
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.ListenHost, strconv.Itoa(cfg.StoragePort)))
	if err != nil {
		return fmt.Errorf("storage port %d: %w", cfg.StoragePort, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	host := net.JoinHostPort(dialHost(cfg.ListenHost), strconv.Itoa(port))
	public := host
	if cfg.PublicHost != "" {
		public = net.JoinHostPort(cfg.PublicHost, strconv.Itoa(port))
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		// The memory backend keeps a bucket's objects in one slice, so
		// every create and read scans it; the filesystem backend does not.
		StorageRoot: root,
		Scheme:      "http",
		NoListener:  true,
		// XML API routes (plain GETs of /bucket/object, which the Go
		// client's default reader sends) only match requests whose Host
		// header is PublicHost; its default, storage.googleapis.com, makes
		// them 404 through STORAGE_EMULATOR_HOST.
		PublicHost: public,
		// Returned in resumable uploads' Location header.
		ExternalURL: "http://" + public,
		Writer:      fakeLogWriter{s.log},
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("start storage on %s: %w", host, err)
	}
	s.storageHTTP = &http.Server{Handler: srv.HTTPHandler(), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = s.storageHTTP.Serve(ln) }()
	s.storage, s.StorageHost = srv, host

	s.storageAPI, err = storage.NewClient(ctx,
		option.WithEndpoint("http://"+host+"/storage/v1/"),
		option.WithoutAuthentication(),
	)
	if err != nil {
		return fmt.Errorf("storage client for %s: %w", host, err)
	}
	for _, b := range cfg.Buckets {
		if err := s.createBucket(ctx, b); err != nil {
			return err
		}
	}
	s.log.Info("storage started",
		slog.String("host", host),
		slog.String("root", root),
		slog.Any("buckets", cfg.Buckets),
	)
	return nil
}

// createBucket creates bucket through the JSON API, keeping one that an
// earlier run left under Config.Dir.
func (s *Stack) createBucket(ctx context.Context, bucket string) error {
	err := s.storageAPI.Bucket(bucket).Create(ctx, s.ProjectID, nil)
	var apiErr *googleapi.Error
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusConflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create bucket %q: %w", bucket, err)
	}
	return nil
}

// Notify makes bucket publish an OBJECT_FINALIZE notification with a
// JSON_API_V1 payload to the stack's topic for each object written under
// prefix ("" for all), as a production bucket's notification configuration
// would. It goes through the storage JSON API, blocks until the server has
// answered, and may be called more than once per bucket (each call adds a
// configuration, and each configuration publishes its own message).
//
// The fake publishes from a goroutine after the write has returned, so a
// message may arrive a little after the upload completes.
func (s *Stack) Notify(ctx context.Context, bucket, prefix string) error {
	_, err := s.storageAPI.Bucket(bucket).AddNotification(ctx, &storage.Notification{
		TopicProjectID:   s.ProjectID,
		TopicID:          s.Topic,
		PayloadFormat:    storage.JSONPayload,
		EventTypes:       []string{storage.ObjectFinalizeEvent},
		ObjectNamePrefix: prefix,
	})
	if err != nil {
		return fmt.Errorf("notify %q on bucket %q: %w", prefix, bucket, err)
	}
	s.log.Info("bucket notification added",
		slog.String("bucket", bucket),
		slog.String("prefix", prefix),
		slog.String("topic", s.Topic),
	)
	return nil
}

// fakeLogWriter turns fake-gcs-server's output into log records: its access
// log at Debug, and failed notification publishes, which it reports only
// here, at Warn.
type fakeLogWriter struct{ log *slog.Logger }

func (w fakeLogWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		// Prefix of the fake's message in internal/notification/registry.go.
		if strings.HasPrefix(line, "error publishing notification") {
			w.log.Warn("storage notification not published", slog.String("err", line))
			continue
		}
		w.log.Debug("storage request", slog.String("line", line))
	}
	return len(p), nil
}
