// PostgreSQL names as users write them in a spec: `schema.table`, with double quotes where
// an identifier needs them (`"Sales"."Line Items"`). Unquoted parts fold to lower case,
// exactly as PostgreSQL folds them, so `Public.Customers` means public.customers.

export interface QualifiedName {
  schema: string;
  name: string;
}

/** Parses `a.b`, `"A"."b c"`, or `b` (schema public). Returns an error message on bad input. */
export function parseQualifiedName(text: string): QualifiedName | string {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i <= s.length) {
    if (s[i] === '"') {
      let part = '';
      i++;
      for (;;) {
        if (i >= s.length) return `unterminated quoted identifier in ${JSON.stringify(text)}`;
        if (s[i] === '"') {
          if (s[i + 1] === '"') { part += '"'; i += 2; continue; }
          i++;
          break;
        }
        part += s[i++];
      }
      if (part === '') return `empty quoted identifier in ${JSON.stringify(text)}`;
      parts.push(part);
    } else {
      let j = i;
      while (j < s.length && s[j] !== '.') j++;
      const raw = s.slice(i, j);
      if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(raw)) {
        return `${JSON.stringify(text)} is not a table name: write schema.table, and double-quote names with spaces, dots, quotes or upper case ("Sales"."Line Items")`;
      }
      parts.push(raw.toLowerCase());
      i = j;
    }
    if (i >= s.length) break;
    if (s[i] !== '.') return `unexpected ${JSON.stringify(s[i])} in ${JSON.stringify(text)}`;
    i++;
    if (i >= s.length) return `${JSON.stringify(text)} ends with a dot`;
  }
  if (parts.length === 1) return { schema: 'public', name: parts[0] };
  if (parts.length === 2) return { schema: parts[0], name: parts[1] };
  return `${JSON.stringify(text)} has ${parts.length} parts: write schema.table (quote a name that contains a dot)`;
}

/** Quotes one identifier for SQL, always (quoting never changes meaning for a folded name). */
export function quoteIdent(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

export function quoteQualified(q: QualifiedName): string {
  return `${quoteIdent(q.schema)}.${quoteIdent(q.name)}`;
}

/** The readable form used in reports and status: quotes only where PostgreSQL needs them. */
export function displayName(q: QualifiedName): string {
  const show = (id: string) => (/^[a-z_][a-z0-9_$]*$/.test(id) ? id : quoteIdent(id));
  return `${show(q.schema)}.${show(q.name)}`;
}
