// A one-dimensional array column: Debezium's JSON array of elements → array_out's text
// (`{a,"b c",NULL}`), each element through the element type's converter.
import { Refused, preview, type Convert } from './refused';

/** `delimiter` is the element type's typdelim: `;` for box, `,` for every other type. */
export function arrayConverter(element: Convert, delimiter: string): Convert {
  return (v) => {
    if (!Array.isArray(v)) throw new Refused(`expected a JSON array, got ${preview(v)}`);
    // A multi-dimensional array arrives as an array of nulls (or of Java object names).
    if (v.length && v.every((e) => e === null)) {
      throw new Refused('Debezium sends a multi-dimensional array as an array of nulls, so an array of only NULLs cannot be told from one');
    }
    return `{${v.map((e) => (e === null ? 'NULL' : quoteElement(element(e), delimiter))).join(delimiter)}}`;
  };
}

/** array_out's quoting: empty, NULL-like, or holding a delimiter, brace, quote, backslash or space. */
function quoteElement(s: string, delimiter: string): string {
  if (s !== '' && !/[{}"\\ \t\n\r\v\f]/.test(s) && !s.includes(delimiter) && s.toUpperCase() !== 'NULL') return s;
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}
