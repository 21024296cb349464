// How Ferry asks Debezium to write values. The decoder (debezium.ts) relies on exactly these
// settings, so the connector registration (capture.ts) spreads them in unchanged.
export const connectorValueConfig = {
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'key.converter.schemas.enable': 'false',
  'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'value.converter.schemas.enable': 'false',
  // numeric/decimal/money as exact strings, never doubles.
  'decimal.handling.mode': 'string',
  // time/timestamp as microseconds (the source's full precision).
  'time.precision.mode': 'adaptive_time_microseconds',
  // bytea as a hex string.
  'binary.handling.mode': 'hex',
  // interval as ISO 8601 text, not approximate microseconds.
  'interval.handling.mode': 'string',
  'hstore.handling.mode': 'json',
  // Types Debezium does not know still arrive (as their text form) instead of being dropped.
  'include.unknown.datatypes': 'true',
  // The value an unchanged TOASTed column carries; the decoder treats it as "keep the target's".
  'unavailable.value.placeholder': '__debezium_unavailable_value',
} as const;

export const UNAVAILABLE_PLACEHOLDER = connectorValueConfig['unavailable.value.placeholder'];
