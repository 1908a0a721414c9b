package worker

import (
	"errors"
	"testing"
	"time"
)

// TestLive moves a fake clock past the stuck limit with and without held messages, and
// through the states Run goes through.
func TestLive(t *testing.T) {
	cfg := Config{ObjectTimeout: time.Minute}.withDefaults()
	limit := cfg.ObjectTimeout + stuckMargin

	tests := []struct {
		name    string
		started bool
		held    int // messages begun and not settled
		settled int // messages begun and settled
		drain   bool
		exited  bool
		after   time.Duration // time from the last progress to the probe
		wantErr bool
	}{
		{name: "before run", after: time.Hour},
		{name: "idle", started: true, after: time.Hour},
		{name: "idle after work", started: true, settled: 3, after: time.Hour},
		{name: "busy within limit", started: true, held: 2, after: limit - time.Second},
		{name: "stuck", started: true, held: 2, after: limit + time.Second, wantErr: true},
		{name: "stuck while draining", started: true, held: 2, drain: true, after: limit + time.Second},
		{name: "receive exited", started: true, exited: true, wantErr: true},
		{name: "receive exited in drain", started: true, exited: true, drain: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &Worker{cfg: cfg}
			w.live.started.Store(tt.started)
			w.live.draining.Store(tt.drain)
			w.live.exited.Store(tt.exited)
			for range tt.held + tt.settled {
				w.stats.begin()
			}
			for range tt.settled {
				w.stats.end(Processed)
			}
			now := time.Unix(0, w.stats.progress.Load()).Add(tt.after)
			if w.stats.progress.Load() == 0 {
				now = time.Now().Add(tt.after)
			}
			err := w.Live(now)
			if (err != nil) != tt.wantErr {
				t.Errorf("Live(+%s) = %v, want error: %t", tt.after, err, tt.wantErr)
			}
			if tt.exited && !tt.drain && !errors.Is(err, ErrReceiveStopped) {
				t.Errorf("Live after Receive exited = %v, want ErrReceiveStopped", err)
			}
		})
	}
}

// TestLiveRecovers checks that one settlement clears a stuck verdict.
func TestLiveRecovers(t *testing.T) {
	w := &Worker{cfg: Config{ObjectTimeout: time.Minute}.withDefaults()}
	w.live.started.Store(true)
	w.stats.begin()
	w.stats.begin()
	later := time.Now().Add(time.Hour)
	if w.Live(later) == nil {
		t.Fatalf("Live an hour after the last progress with 2 held = nil, want an error")
	}
	w.stats.end(Processed)
	if err := w.Live(time.Now()); err != nil {
		t.Errorf("Live right after a settlement = %v, want nil", err)
	}
}
