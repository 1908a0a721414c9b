// Package backfill lists the objects of a bucket for the producer: as a stream of pages
// in name order, asking only for the fields a message carries, so memory stays flat
// however many objects there are; and it splits a bucket into balanced name ranges for
// runs in parallel.
package backfill
