package notify

// Message attribute names, as Cloud Storage sets them on bucket notifications. Producer
// messages use the same names.
const (
	AttrEventType          = "eventType"
	AttrBucket             = "bucketId"
	AttrObject             = "objectId"
	AttrGeneration         = "objectGeneration"
	AttrPayloadFormat      = "payloadFormat"
	AttrEventTime          = "eventTime"
	AttrNotificationConfig = "notificationConfig"
	AttrOverwrote          = "overwroteGeneration"
	AttrOverwrittenBy      = "overwrittenByGeneration"
	// AttrSource is Sluice's own attribute: SourceBackfill on producer messages.
	AttrSource = "source"
)

// Payload formats a notification can be configured with.
const (
	PayloadJSON = "JSON_API_V1"
	PayloadNone = "NONE"
)

// SourceBackfill is the AttrSource value on messages the producer publishes.
const SourceBackfill = "backfill"
