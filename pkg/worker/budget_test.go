package worker

import (
	"context"
	"testing"
	"time"
)

// TestAdmitObjectDraining checks what the drain does to admission: an object that must
// wait is refused once the drain has begun, one that fits is admitted (it is in-flight
// work), and none is admitted once its own context has ended.
func TestAdmitObjectDraining(t *testing.T) {
	tests := []struct {
		name     string
		draining bool
		ctxDone  bool
		full     bool // the budget is full, so the object must wait
		wantErr  bool
	}{
		{name: "fits", wantErr: false},
		{name: "fits while draining", draining: true, wantErr: false},
		{name: "waits while draining", draining: true, full: true, wantErr: true},
		{name: "object context done", ctxDone: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newBudgetWorker(t)
			admit, stopAdmit := context.WithCancel(context.Background())
			defer stopAdmit()
			w.admit = admit
			var held []admission
			if tt.full {
				for range w.budget.max / w.cfg.weight(-1) {
					held = append(held, mustAdmit(t, w, -1))
				}
			}
			before := w.stats.budgetBytes.Load()
			if tt.draining {
				stopAdmit()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.ctxDone {
				cancel()
			}

			a, err := w.admitObject(ctx, 4<<10)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("admitObject() error = %v, want error %t", err, tt.wantErr)
			}
			want := before
			if !tt.wantErr {
				want += w.cfg.weight(4 << 10)
			}
			if got := w.stats.budgetBytes.Load(); got != want {
				t.Errorf("budget holds %d bytes after admitObject, want %d", got, want)
			}
			a.release()
			for _, h := range held {
				h.release()
			}
			if got := w.stats.budgetBytes.Load(); got != 0 {
				t.Errorf("budget holds %d bytes after release, want 0", got)
			}
		})
	}
}

// TestAdmitObjectWaitsBehindWaiter checks that an object whose weight fits still queues
// behind one already waiting, so the budget stays first come, first served.
func TestAdmitObjectWaitsBehindWaiter(t *testing.T) {
	w := newBudgetWorker(t)
	w.admit = context.Background()
	// Hold all but one full weight, and one light object: a full one must then wait,
	// while another light one would fit.
	var held []admission
	for range w.budget.max/w.cfg.weight(-1) - 1 {
		held = append(held, mustAdmit(t, w, -1))
	}
	held = append(held, mustAdmit(t, w, 0))
	heavy := make(chan admission)
	go func() {
		a, err := w.admitObject(context.Background(), -1)
		if err != nil {
			t.Errorf("admitObject(heavy) = %v", err)
		}
		heavy <- a
	}()
	for w.budget.sem.TryAcquire(0) {
		// TryAcquire(0) fails only once the heavy object waits.
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if a, err := w.admitObject(ctx, 0); err == nil {
		t.Errorf("admitObject(light) admitted ahead of a waiting object")
		a.release()
	}
	held[0].release()
	(<-heavy).release()
	for _, a := range held[1:] {
		a.release()
	}
	if got := w.stats.budgetBytes.Load(); got != 0 {
		t.Errorf("budget holds %d bytes after every release, want 0", got)
	}
}

func mustAdmit(t *testing.T, w *Worker, size int64) admission {
	t.Helper()
	a, err := w.admitObject(context.Background(), size)
	if err != nil {
		t.Fatalf("admitObject(%d) = %v", size, err)
	}
	return a
}

// BenchmarkAdmitObject measures the per-message cost of the byte budget when it does not
// bind, the default without a memory limit.
func BenchmarkAdmitObject(b *testing.B) {
	for _, bc := range []struct {
		name     string
		inFlight int64
	}{
		{name: "budget", inFlight: 0},
		{name: "disabled", inFlight: -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := newBudgetWorkerConfig(b, Config{MaxInFlightBytes: bc.inFlight})
			admit, stop := context.WithCancel(context.Background())
			defer stop()
			w.admit = admit
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				a, err := w.admitObject(ctx, 4<<10)
				if err != nil {
					b.Fatal(err)
				}
				a.release()
			}
		})
	}
}

// newBudgetWorker returns a Worker with only its config and byte budget set: enough
// for admitObject, which needs no clients.
func newBudgetWorker(tb testing.TB) *Worker {
	tb.Helper()
	return newBudgetWorkerConfig(tb, Config{})
}

func newBudgetWorkerConfig(tb testing.TB, cfg Config) *Worker {
	tb.Helper()
	cfg, _, err := cfg.Resolve()
	if err != nil {
		tb.Fatalf("Resolve() = %v", err)
	}
	w := &Worker{cfg: cfg}
	w.budget = newBudget(cfg.MaxInFlightBytes, &w.stats)
	return w
}
