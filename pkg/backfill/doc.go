// Package backfill lists the objects of a bucket for the producer: as a stream of pages
// in name order, asking only for the fields a message carries, so memory stays flat
// however many objects there are. ListRanges lists with several concurrent requests,
// splitting ranges while they are listed; Split divides a bucket into ranges of about
// equal object counts for separate runs.
package backfill
