package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// version is the State layout written. Version 1 held one watermark (After); version 2
// holds the ranges still to settle. Load reads both and refuses others.
const version = 2

var (
	// ErrCorrupt is wrapped when a checkpoint file cannot be read as a State.
	ErrCorrupt = errors.New("checkpoint file is corrupt")
	// ErrMismatch is wrapped when a checkpoint belongs to a different listing.
	ErrMismatch = errors.New("checkpoint belongs to another listing")
)

// Listing identifies what a backfill lists. A checkpoint is valid only for the listing
// that wrote it: after another prefix or range its position means nothing.
type Listing struct {
	Bucket       string    `json:"bucket"`
	Prefix       string    `json:"prefix,omitempty"`
	Glob         string    `json:"glob,omitempty"`
	StartAfter   string    `json:"start_after,omitempty"`
	EndBefore    string    `json:"end_before,omitempty"`
	UpdatedSince time.Time `json:"updated_since,omitzero"`
}

// State is the content of a checkpoint file.
type State struct {
	Version int     `json:"version"`
	Listing Listing `json:"listing"`
	// Ranges are the name ranges still to settle, each from its own watermark: every
	// object of the listing outside them is settled. Empty when the listing is done.
	Ranges []Range `json:"ranges"`
	// After is version 1's single watermark; Load turns it into one range.
	After string `json:"after,omitempty"`
	// Settled counts the objects the watermarks have passed, over all runs that
	// resumed this one.
	Settled int64     `json:"settled"`
	Written time.Time `json:"written"`
}

// Resume returns the ranges a run that starts from s still has to list: s.Ranges, or for
// a State that holds none yet, the whole listing l.
func (s State) Resume(l Listing) []Range {
	if s.Version == 0 {
		return []Range{{After: l.StartAfter, EndBefore: l.EndBefore}}
	}
	return s.Ranges
}

// Check returns an error wrapping ErrMismatch unless s was written for l.
func (s State) Check(l Listing) error {
	if s.Listing.Bucket != l.Bucket || s.Listing.Prefix != l.Prefix ||
		s.Listing.Glob != l.Glob || s.Listing.StartAfter != l.StartAfter ||
		s.Listing.EndBefore != l.EndBefore || !s.Listing.UpdatedSince.Equal(l.UpdatedSince) {
		return fmt.Errorf("%w: it lists %+v, this run lists %+v", ErrMismatch, s.Listing, l)
	}
	return nil
}

// Load reads the checkpoint at path. A missing file yields an error satisfying
// errors.Is(err, fs.ErrNotExist); an unreadable one wraps ErrCorrupt.
func Load(path string) (State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, fmt.Errorf("read checkpoint: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if (s.Version != 1 && s.Version != version) || s.Listing.Bucket == "" {
		return State{}, fmt.Errorf("%w: %s: version %d, bucket %q", ErrCorrupt, path, s.Version, s.Listing.Bucket)
	}
	if s.Version == 1 {
		after := max(s.After, s.Listing.StartAfter)
		s.Version, s.After = version, ""
		s.Ranges = []Range{{After: after, EndBefore: s.Listing.EndBefore}}
	}
	if s.Ranges == nil {
		s.Ranges = []Range{}
	}
	return s, nil
}

// Save writes s to path so that a crash at any moment leaves either the old file or the
// new one whole: it writes a temporary file in the same directory, syncs it, renames it
// over path and syncs the directory, since the rename is durable only then.
func Save(path string, s State) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("save checkpoint: %w", err)
		}
	}()
	s.Version = version
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
