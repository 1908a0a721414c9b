package namelist

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

// failure is one line of the failures file: a Record plus the last error, which a reader
// ignores.
type failure struct {
	Record
	Error string `json:"error,omitempty"`
}

// Writer appends records to a failures file in the JSONLines format. It is safe for
// concurrent use.
type Writer struct {
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	count int
}

// Create opens the failures file at path, appending when it exists, so that the
// failures of a resumed run join those of the run before it.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open failures file: %w", err)
	}
	return &Writer{f: f, w: bufio.NewWriter(f)}, nil
}

// Write appends rec with the error that made it fail. The line reaches the disk at the
// next Sync.
func (w *Writer) Write(rec Record, cause error) error {
	line := failure{Record: rec}
	if cause != nil {
		line.Error = cause.Error()
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode failure: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count++
	if _, err := w.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write failures file: %w", err)
	}
	return nil
}

// Count returns how many records were written.
func (w *Writer) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

// Sync flushes buffered records and waits until the file is on disk: a checkpoint that
// moves past a failed record must not be written before the record is.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("write failures file: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync failures file: %w", err)
	}
	return nil
}

// Close syncs and closes the file.
func (w *Writer) Close() error {
	if err := w.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}
