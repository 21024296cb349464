// Debezium's Kafka messages → ChangeEvent. The JSON converter may or may not wrap each value
// in `{schema, payload}` (value.converter.schemas.enable); both are accepted so a connector
// registered either way can be read. Numbers are parsed with lossless-json: an int8 column or
// a microsecond timestamp beyond 2^53 keeps its exact digits (a LosslessNumber), which
// debezium-values/ turns into PostgreSQL text without passing through a JavaScript double.
import { isLosslessNumber, parse } from 'lossless-json';
import { type ChangeEvent, type DecodedMessage } from './types';
import { PoisonMessage } from '../../engines/errors';

const OPS = new Set<ChangeEvent['op']>(['c', 'u', 'd', 'r', 't']);

/** A Kafka message value: a change event, or a tombstone (no value, or a null payload). */
export function decodeMessage(value: Buffer | null): DecodedMessage {
  const body = unwrap(parseJson(value, 'value'));
  if (body === null) return { kind: 'tombstone' };
  return { kind: 'change', event: envelope(body) };
}

/** A Kafka message key: the row key object Debezium wrote (column → value), or null for none. */
export function decodeKey(key: Buffer | null): Record<string, unknown> | null {
  const body = unwrap(parseJson(key, 'key'));
  if (body === null) return null;
  if (!isObject(body)) throw new PoisonMessage(`the message key is not a JSON object: ${preview(body)}`);
  return body;
}

function parseJson(raw: Buffer | null, what: string): unknown {
  if (raw === null || raw.length === 0) return null;
  try {
    return parse(raw.toString('utf8'));
  } catch (err) {
    throw new PoisonMessage(`the message ${what} is not valid JSON (${(err as Error).message}): ${preview(raw.toString('utf8'))}`);
  }
}

/** `{schema, payload}` (schemas.enable=true) → payload; anything else is already the payload. */
function unwrap(body: unknown): unknown {
  if (isObject(body) && 'payload' in body && 'schema' in body && Object.keys(body).length === 2) return body.payload;
  return body;
}

function envelope(body: unknown): ChangeEvent {
  if (!isObject(body)) throw new PoisonMessage(`not a Debezium change event (a JSON ${kindOf(body)}): ${preview(body)}`);
  const { op, source, before, after } = body;
  if (typeof op !== 'string' || !isObject(source)) {
    throw new PoisonMessage(`not a Debezium change event (no op and source): ${preview(body)}`);
  }
  if (!OPS.has(op as ChangeEvent['op'])) throw new PoisonMessage(`unsupported Debezium op ${JSON.stringify(op)} (expected c, u, d, r or t)`);
  if (typeof source.schema !== 'string' || typeof source.table !== 'string') {
    throw new PoisonMessage(`Debezium event without source.schema and source.table: ${preview(source)}`);
  }
  for (const [name, v] of [['before', before], ['after', after]] as const) {
    if (v !== undefined && v !== null && !isObject(v)) throw new PoisonMessage(`Debezium event whose ${name} is not a row object (a JSON ${kindOf(v)})`);
  }
  const tsMs = numberOf(source.ts_ms) ?? numberOf(body.ts_ms);
  if (tsMs === null) throw new PoisonMessage(`Debezium event without source.ts_ms or ts_ms: ${preview(source)}`);
  const lsn = source.lsn;
  return {
    op: op as ChangeEvent['op'],
    schema: source.schema,
    table: source.table,
    before: (before ?? null) as Record<string, unknown> | null,
    after: (after ?? null) as Record<string, unknown> | null,
    sourceTsMs: tsMs,
    // An LSN is a 64-bit position: keep its digits as text.
    lsn: lsn === undefined || lsn === null ? null : integerText(lsn, 'source.lsn'),
  };
}

function integerText(v: unknown, what: string): string {
  const text = isLosslessNumber(v) ? v.value : typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : '';
  if (!/^\d+$/.test(text)) throw new PoisonMessage(`${what} is not a non-negative integer: ${preview(v)}`);
  return text;
}

/** Milliseconds since the epoch fit a double exactly (2^53 ms is 285,000 years). */
function numberOf(v: unknown): number | null {
  if (isLosslessNumber(v)) return Number(v.value);
  if (typeof v === 'number') return v;
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isLosslessNumber(v)) return 'number';
  return typeof v;
}

function preview(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (isLosslessNumber(x) ? x.value : x));
  return text === undefined ? String(v) : text.length > 200 ? `${text.slice(0, 200)}… (${text.length} characters)` : text;
}
