// hstore columns (an extension type, matched by name in converters.ts).
import { string } from './json';
import { Refused, preview } from './refused';

/** hstore.handling.mode=json → hstore's output: keys by length then bytes, `"k"=>"v"`, NULL bare. */
export function hstore(json: string): string {
  let map: unknown;
  try {
    map = JSON.parse(json);
  } catch {
    throw new Refused(`expected an hstore as a JSON object, got ${preview(json)}`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Refused(`expected an hstore as a JSON object, got ${preview(json)}`);
  const entries = Object.entries(map as Record<string, unknown>).map(([k, val]) => ({ k, key: Buffer.from(k), val }));
  entries.sort((a, b) => a.key.length - b.key.length || Buffer.compare(a.key, b.key));
  const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  return entries.map(({ k, val }) => `${quote(k)}=>${val === null ? 'NULL' : quote(string(val))}`).join(', ');
}
