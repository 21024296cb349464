// Which converter a column gets, chosen once per column from its type: built-in types by OID,
// enums and a few extension types by kind or name, and everything else as the hex of its text
// (include.unknown.datatypes). Arrays wrap their element's converter (arrays.ts).
import type { ColumnInfo } from '../../../../contracts/tables';
import { arrayConverter } from './arrays';
import { bitConverter } from './bits';
import { formatTime } from './calendar';
import { formatFloat } from './floats';
import { geometricText, point } from './geometry';
import { hstore } from './hstore';
import { formatInterval } from './interval';
import { bool, float, hex, integer, string, utf8FromHex } from './json';
import { formatMoney, numeric } from './numerics';
import { OID } from './oids';
import { Refused, type Convert } from './refused';
import { date, timestampConverter, timestamptz, tstzToUtc } from './temporal';

export function columnConverter(col: ColumnInfo): Convert {
  if (!col.elementOid) return scalarConverter(col.baseOid || col.typeOid, col, false);
  // Elements of a domain type (not a domain over an array) are unknown to Debezium: each
  // arrives as the hex of its text.
  const domainElements = col.typeCategory !== 'd' && !!col.userType?.ddl.startsWith('CREATE DOMAIN');
  const element = domainElements ? unknownType : scalarConverter(col.elementOid, col, true);
  return arrayConverter(element, col.elementOid === OID.box ? ';' : ',');
}

function scalarConverter(oid: number, col: ColumnInfo, inArray: boolean): Convert {
  switch (oid) {
    case OID.bool:
      return (v) => (bool(v) ? 't' : 'f');
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      return integer;
    case OID.float4:
      return (v) => formatFloat(float(v), true);
    case OID.float8:
      return (v) => formatFloat(float(v), false);
    case OID.numeric:
      return numeric;
    case OID.money:
      return (v) => formatMoney(numeric(v));
    case OID.bytea:
      return (v) => `\\x${hex(v)}`;
    case OID.date:
      return (v) => date(v, inArray);
    case OID.time:
      return (v) => formatTime(BigInt(integer(v)));
    case OID.timestamp:
      return timestampConverter(col, inArray);
    case OID.timestamptz:
      return (v) => timestamptz(v, inArray);
    case OID.interval:
      return (v) => formatInterval(string(v));
    case OID.bit:
      return bitConverter(col);
    case OID.point:
      return point;
    case OID.line:
    case OID.lseg:
    case OID.box:
    case OID.path:
    case OID.polygon:
    case OID.circle:
      return geometricText;
    case OID.tstzrange:
      return (v) => tstzToUtc(string(v));
    case OID.tstzmultirange:
      return (v) => tstzToUtc(utf8FromHex(string(v)));
    case OID.text: case OID.varchar: case OID.bpchar: case OID.name: case OID.char: case OID.json: case OID.jsonb:
    case OID.xml: case OID.uuid: case OID.inet: case OID.cidr: case OID.macaddr: case OID.macaddr8:
    case OID.int4range: case OID.int8range: case OID.numrange: case OID.tsrange: case OID.daterange:
      return textValue;
  }
  if (!inArray && col.typeCategory === 'e') return textValue;
  if (inArray && col.userType?.ddl.includes(' AS ENUM (')) return textValue;
  const name = typeName(col);
  if (name === 'hstore') return (v) => hstore(string(v));
  if (name === 'citext' || name === 'ltree' || name === 'isbn') return textValue;
  // include.unknown.datatypes: every other type arrives as the hex of its text output.
  return unknownType;
}

/** The bare type name of a column (or of its elements): `public."hstore"[]` → `hstore`. */
function typeName(col: ColumnInfo): string {
  return col.type.replace(/\[\]$/, '').replace(/^.*\./, '').replace(/"/g, '');
}

const unknownType: Convert = (v) => utf8FromHex(string(v));

const textValue: Convert = (v) => {
  const s = string(v);
  // text[][] arrives as the names of Java arrays.
  if (/^\[L[\w.]+;@[0-9a-f]+$/.test(s)) throw new Refused('Debezium sends a multi-dimensional array as Java object names');
  return s;
};
