// Package checkpoint records how far a backfill has got, so that a run that stops can be
// resumed without skipping an object.
//
// The position is a watermark in listing order: the last object name such that it and
// every name listed before it are settled (published and confirmed by Pub/Sub, or written
// to the failures file and synced). Results arrive out of order, so the watermark is not
// the last confirmed name but the end of the contiguous confirmed run. Resuming lists
// again after the watermark: the objects past it that were confirmed before a crash are
// published a second time, and none is skipped. A listing split into ranges listed
// concurrently (Ranges) keeps one watermark per range, and ranges split while listing
// enter it in one step, so every position covers every name still to settle.
package checkpoint
