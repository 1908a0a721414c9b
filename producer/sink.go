package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"cloud.google.com/go/pubsub/v2"

	"github.com/sluice-dev/sluice/pkg/checkpoint"
	"github.com/sluice-dev/sluice/pkg/namelist"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/publish"
	"github.com/sluice-dev/sluice/pkg/telemetry"
)

// sink takes the events a command produces, publishes them (unless dry), and accounts
// for each: published, or failed (into the failures file).
type sink struct {
	pub      *publish.Publisher // nil on a dry run
	marks    *checkpoint.Ranges
	failures *failureFile
	metrics  *telemetry.ProducerMetrics
	log      *slog.Logger

	seen, invalid, bytes atomic.Int64
}

// sinkConfig holds what a command decides about publishing.
type sinkConfig struct {
	dryRun   bool
	pub      publish.Config
	failures string
	marks    *checkpoint.Ranges // nil when the command keeps no checkpoint
	metrics  *telemetry.ProducerMetrics
}

func newSink(topic *pubsub.Publisher, cfg sinkConfig, log *slog.Logger) (*sink, error) {
	s := &sink{marks: cfg.marks, failures: &failureFile{path: cfg.failures}, metrics: cfg.metrics, log: log}
	if s.marks == nil {
		s.marks = checkpoint.NewRanges([]checkpoint.Range{{}})
	}
	if cfg.dryRun {
		return s, nil
	}
	cfg.pub.Settled = s.settled
	if cfg.metrics != nil {
		cfg.pub.Observer = cfg.metrics
	}
	pub, err := publish.New(topic, cfg.pub)
	if err != nil {
		return nil, err
	}
	s.pub = pub
	return s, nil
}

// send publishes ev, the next object of range r of the marks in name order. It blocks
// while flow control holds it back, and returns an error only when ctx ends.
func (s *sink) send(ctx context.Context, r int, ev notify.Event) error {
	s.seen.Add(1)
	if s.metrics != nil {
		s.metrics.Listed(1)
	}
	if ev.Size > 0 {
		s.bytes.Add(ev.Size)
	}
	if s.pub == nil {
		return nil
	}
	seq := s.marks.Add(r, ev.Name)
	return s.pub.Publish(ctx, publish.Message{Event: ev, Seq: seq})
}

// settled records one message's outcome. The failure is written before the watermark
// moves past it, so a checkpoint never passes an object that is nowhere recorded.
func (s *sink) settled(m publish.Message, id string, err error) {
	if err != nil {
		s.log.Warn("publish failed",
			"bucket", m.Event.Bucket,
			"object", strconv.Quote(m.Event.Name),
			"generation", m.Event.Generation,
			"err", err)
		rec := namelist.Record{Bucket: m.Event.Bucket, Name: m.Event.Name, Generation: m.Event.Generation}
		if werr := s.failures.write(rec, err); werr != nil {
			// Not recorded anywhere: hold the watermark so a resume republishes it.
			return
		}
	}
	s.marks.Done(m.Seq)
}

// counts returns the publish counts so far.
func (s *sink) counts() publish.Counts {
	if s.pub == nil {
		return publish.Counts{}
	}
	return s.pub.Counts()
}

// drain waits for every message to settle and returns the counts.
func (s *sink) drain() publish.Counts {
	if s.pub == nil {
		return publish.Counts{}
	}
	return s.pub.Close()
}

// failureFile is the failures file, created at the first failure so a clean run leaves
// none behind.
type failureFile struct {
	path string
	mu   sync.Mutex
	w    *namelist.Writer
	err  error // first write error: later failures are lost too
}

func (f *failureFile) write(rec namelist.Record, cause error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.w == nil {
		if f.path == "" {
			f.err = errors.New("no failures file (--failures \"\")")
			return f.err
		}
		f.w, f.err = namelist.Create(f.path)
		if f.err != nil {
			return f.err
		}
	}
	f.err = f.w.Write(rec, cause)
	return f.err
}

// sync makes every failure written so far durable.
func (f *failureFile) sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.w == nil {
		return nil
	}
	return f.w.Sync()
}

func (f *failureFile) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.w != nil {
		if err := f.w.Close(); err != nil && f.err == nil {
			f.err = err
		}
	}
	if f.err != nil {
		return fmt.Errorf("failures file %s: %w", f.path, f.err)
	}
	return nil
}
