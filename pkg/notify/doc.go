// Package notify turns Pub/Sub messages into object events.
//
// Two kinds of message share one format. Cloud Storage bucket notifications carry the
// attributes Google documents (eventType, bucketId, objectId, objectGeneration,
// payloadFormat, eventTime, notificationConfig, overwroteGeneration,
// overwrittenByGeneration) and, with payload format JSON_API_V1, the object resource as
// JSON in the data. Messages published by Sluice's producer carry the same attributes plus
// source=backfill, so a worker has one decoding path for both.
//
// Object names are opaque: they are passed on exactly as received, never URL-decoded,
// re-encoded, trimmed or normalised.
package notify
