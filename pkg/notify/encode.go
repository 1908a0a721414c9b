package notify

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"time"
)

// Encode builds the attributes and data of a finalize message for ev, in the format Cloud
// Storage uses for notifications, plus AttrSource when ev.Source is set. When ev carries a
// size or hashes, the data is a JSON_API_V1 object resource holding them; otherwise the
// payload format is NONE and the data is empty. Decode(Encode(ev)) returns ev, with Time
// truncated to what RFC 3339 with nanoseconds keeps.
func Encode(ev Event) (attrs map[string]string, data []byte) {
	attrs = map[string]string{
		AttrEventType: string(ev.Type),
		AttrBucket:    ev.Bucket,
		AttrObject:    ev.Name,
	}
	if ev.Type == "" {
		attrs[AttrEventType] = string(Finalize)
	}
	if ev.Generation > 0 {
		attrs[AttrGeneration] = strconv.FormatInt(ev.Generation, 10)
	}
	if ev.Overwrote > 0 {
		attrs[AttrOverwrote] = strconv.FormatInt(ev.Overwrote, 10)
	}
	if !ev.Time.IsZero() {
		attrs[AttrEventTime] = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	if ev.Source != "" {
		attrs[AttrSource] = ev.Source
	}

	if ev.Size < 0 && !ev.HasCRC32C && ev.MD5 == nil {
		attrs[AttrPayloadFormat] = PayloadNone
		return attrs, nil
	}
	attrs[AttrPayloadFormat] = PayloadJSON
	o := object{Kind: "storage#object", Bucket: ev.Bucket, Name: ev.Name}
	if ev.Generation > 0 {
		o.Generation = strconv.FormatInt(ev.Generation, 10)
	}
	if ev.Size >= 0 {
		o.Size = strconv.FormatInt(ev.Size, 10)
	}
	if ev.HasCRC32C {
		o.CRC32C = base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, ev.CRC32C))
	}
	if ev.MD5 != nil {
		o.MD5Hash = base64.StdEncoding.EncodeToString(ev.MD5)
	}
	data, err := json.Marshal(o)
	if err != nil {
		// Marshalling a struct of strings cannot fail.
		panic(err)
	}
	return attrs, data
}
