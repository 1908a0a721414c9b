package main

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"cloud.google.com/go/storage"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// file is one corpus file and where it went.
type file struct {
	path       string // on disk
	name       string // object name
	size       int64
	crc32c     uint32
	generation int64 // set by upload
	backfill   bool  // uploaded before the notification existed
}

// scan lists the regular files under dir, in a stable order, and assigns every nth to
// the backfill prefix.
func scan(dir string, nth int) ([]*file, error) {
	var files []*file
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, &file{path: path, name: filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("scan %s: no files", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	for i, f := range files {
		f.backfill = i%nth == 0
		if f.backfill {
			f.name = backfillPrefix + f.name
		} else {
			f.name = notifyPrefix + f.name
		}
	}
	return files, nil
}

// upload writes files to bucket with n uploads at a time, recording each generation and
// the CRC32C of what was sent.
func upload(ctx context.Context, bucket *storage.BucketHandle, files []*file, n int) error {
	work := make(chan *file)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for f := range work {
				if err := uploadOne(ctx, bucket, f, buf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, f := range files {
		select {
		case work <- f:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return err
}

func uploadOne(ctx context.Context, bucket *storage.BucketHandle, f *file, buf []byte) error {
	in, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer in.Close()
	w := bucket.Object(f.name).NewWriter(ctx)
	w.ChunkSize = 0 // one request; these files are small
	h := crc32.New(castagnoli)
	n, err := io.CopyBuffer(io.MultiWriter(w, h), in, buf)
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("upload %q: %w", f.name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("upload %q: %w", f.name, err)
	}
	f.size, f.crc32c, f.generation = n, h.Sum32(), w.Attrs().Generation
	return nil
}
