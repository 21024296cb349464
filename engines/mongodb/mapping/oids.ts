// The PostgreSQL type OIDs the MongoDB mapping treats specially; every other type is kept as
// PostgreSQL's text. (box is here only because box[] arrays are delimited by ';'.)
export const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, json: 114, float4: 700, float8: 701, box: 603,
  date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700, uuid: 2950, jsonb: 3802,
} as const;
