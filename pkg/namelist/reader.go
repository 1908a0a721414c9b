package namelist

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Format is the layout of an input file.
type Format int

const (
	// Lines holds one bare name or gs:// URI a line.
	Lines Format = iota
	// JSONLines holds one JSON Record a line: the failures file format.
	JSONLines
)

// maxLine bounds a line: a name is at most 1 KiB, so anything far longer is not a list
// of names, and reading it whole would only cost memory.
const maxLine = 64 << 10

// Reader reads records from an input list. It is not safe for concurrent use.
type Reader struct {
	sc     *bufio.Scanner
	format Format
	bucket string
	line   int
	blank  int
}

// NewReader returns a Reader of r in format f. Bare names in the Lines format are in
// bucket; with bucket "", a bare name is an invalid line.
func NewReader(r io.Reader, f Format, bucket string) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	// ScanLines ends a line at "\n" and drops one "\r" before it: the documented rule.
	sc.Split(bufio.ScanLines)
	return &Reader{sc: sc, format: f, bucket: bucket}
}

// Next returns the next record, skipping blank lines. At the end of input it returns
// io.EOF. A line that names no valid object yields an error wrapping ErrInvalid, with
// the line number; reading may go on after it. Any other error ends the input.
func (r *Reader) Next() (Record, error) {
	for r.sc.Scan() {
		r.line++
		line := r.sc.Bytes()
		if len(line) == 0 || (r.format == JSONLines && len(bytes.TrimSpace(line)) == 0) {
			r.blank++
			continue
		}
		rec, err := r.parse(line)
		if err != nil {
			return Record{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		return rec, nil
	}
	if err := r.sc.Err(); err != nil {
		return Record{}, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	return Record{}, io.EOF
}

func (r *Reader) parse(line []byte) (Record, error) {
	if r.format == Lines {
		return parseLine(string(line), r.bucket)
	}
	var rec Record
	if err := json.Unmarshal(line, &rec); err != nil {
		return Record{}, fmt.Errorf("%w: not a JSON record: %v", ErrInvalid, err)
	}
	if rec.Bucket == "" {
		rec.Bucket = r.bucket
	}
	if err := rec.Validate(); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// Blank returns how many blank lines were skipped so far.
func (r *Reader) Blank() int { return r.blank }
