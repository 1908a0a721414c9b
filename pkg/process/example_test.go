package process_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
)

// lineCounter is a user-written processor: it counts the lines of each object. A real one
// would write its result somewhere durable before returning nil (see package output),
// since the worker acknowledges the message as soon as Process returns nil.
type lineCounter struct {
	seen map[notify.Key]int
}

func (c *lineCounter) Process(ctx context.Context, obj *process.Object) error {
	if _, done := c.seen[obj.Event.Key()]; done {
		return fmt.Errorf("%s: %w", obj.Event.Key(), process.ErrDuplicate)
	}
	if obj.ContentEncoding != "" {
		return process.Permanent(fmt.Errorf("cannot count lines of %s content", obj.ContentEncoding))
	}
	n := 0
	sc := bufio.NewScanner(obj.Body)
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		return err // transient: the message is nacked and redelivered
	}
	c.seen[obj.Event.Key()] = n
	return nil
}

func ExampleProcessor() {
	c := &lineCounter{seen: map[notify.Key]int{}}
	// A worker builds Objects from messages; here is one by hand.
	obj := &process.Object{
		Event: notify.Event{Type: notify.Finalize, Bucket: "b", Name: "a.txt", Generation: 1},
		Body:  strings.NewReader("one\ntwo\nthree\n"),
	}
	fmt.Println(c.Process(context.Background(), obj), c.seen[obj.Event.Key()])
	fmt.Println(c.Process(context.Background(), obj))
	// Output:
	// <nil> 3
	// gs://b/"a.txt"#1: output already exists
}
