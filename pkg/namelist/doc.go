// Package namelist reads the lists of objects that `producer publish` takes as input, and
// writes the failures file in a form that it reads back.
//
// Two formats exist. Lines: one object a line, either a bare object name (in the bucket
// the caller names) or a gs://bucket/object URI. A line ends at "\n"; one "\r" before it
// is dropped too, so files written on Windows read as intended (Cloud Storage names
// cannot contain "\r" or "\n" by its naming rules, so nothing real is lost). Nothing else
// is trimmed or decoded: spaces, "%2F", "+", "#" and "?" are part of the name. Blank lines
// are skipped and counted. Duplicate lines are not removed: holding every name to find
// them would make memory grow with the input, and workers are idempotent on (bucket,
// name, generation), so a duplicate costs one redundant message.
//
// JSON lines: one JSON object a line, {"bucket": ..., "name": ..., "generation": ...},
// extra fields ignored. This is the failures file's format, chosen because JSON escapes
// every byte a name may hold, newlines included, so any object round-trips.
package namelist
