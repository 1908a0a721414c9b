package main

import (
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress reports a running count: a bar when stderr is a terminal, a structured log
// line every interval otherwise (a Kubernetes Job has no terminal).
type progress struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

// startProgress reports count() until stop is called. interval <= 0 reports nothing.
func startProgress(w io.Writer, log *slog.Logger, interval time.Duration, what string, count func() (seen, done int64)) *progress {
	p := &progress{stop: make(chan struct{})}
	if interval <= 0 {
		return p
	}
	if isTerminal(w) {
		bar := progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		p.wg.Go(func() { p.loop(200*time.Millisecond, func() { _, d := count(); bar.Set64(d) }) })
		return p
	}
	start := time.Now()
	p.wg.Go(func() {
		p.loop(interval, func() {
			seen, done := count()
			el := time.Since(start)
			log.Info("progress", "command", what, "listed", seen, "settled", done,
				"rate_per_s", float64(done)/el.Seconds(), "elapsed_s", el.Seconds())
		})
	})
	return p
}

func (p *progress) loop(every time.Duration, report func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			report()
		case <-p.stop:
			return
		}
	}
}

// end stops reporting.
func (p *progress) end() {
	close(p.stop)
	p.wg.Wait()
}
