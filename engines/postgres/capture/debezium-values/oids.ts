// The built-in PostgreSQL type OIDs the decoder picks converters and refusals by. Columns are
// told apart by OID (baseOid/elementOid from the plan), never by a type name a search_path or
// a domain could disguise; extension types (hstore, citext, …) have no fixed OID and are
// matched by name in converters.ts.
export const OID = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, json: 114, xml: 142,
  point: 600, lseg: 601, path: 602, box: 603, polygon: 604, line: 628, cidr: 650, float4: 700, float8: 701,
  circle: 718, macaddr8: 774, money: 790, macaddr: 829, inet: 869, bpchar: 1042, varchar: 1043, date: 1082,
  time: 1083, timestamp: 1114, timestamptz: 1184, interval: 1186, timetz: 1266, bit: 1560, varbit: 1562,
  numeric: 1700, uuid: 2950, jsonb: 3802, int4range: 3904, numrange: 3906, tsrange: 3908, tstzrange: 3910,
  daterange: 3912, int8range: 3926, tstzmultirange: 4534,
} as const;
