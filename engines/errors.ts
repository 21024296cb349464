// Which database errors a retry cannot fix. A wrong grant, a missing type or database, or
// bad credentials will fail the same way on every attempt: they become non-retryable
// failures whose message says what to change, instead of retrying silently forever.
import { ApplicationFailure } from '@temporalio/common';

interface DbError {
  code?: string | number;
  message?: string;
  writeErrors?: unknown;
}

/** A value that cannot be mapped to the target type: the same on every attempt. */
export class MappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MappingError';
  }
}

// MongoDB: document too large, invalid field names, values it refuses.
const mongoDataCodes = new Set([2, 52, 10334, 17419, 17280]);

const configurationCodes: Record<string, string> = {
  '42501': 'grant the privilege named above to the user in the URL',
  '42704': 'create the missing object on that side, or leave the column out of the migration',
  '42P01': 'check the table name and that the user can see its schema',
  '3D000': 'create the database or fix the database name in the URL',
  '28000': 'fix the user name or the pg_hba.conf entry for this host',
  '28P01': 'fix the password the URL refers to',
  '42703': 'the target table exists with other columns: drop it or make its columns match the source',
  '42P10': 'the target table exists without the source primary key: drop it or add the key',
};

/**
 * unique_violation, exclusion_violation. Data errors for a copy, but while a sync applies
 * changes they can be an order effect: a unique value moving from one row to another is
 * briefly held twice when the target sees the taker's change first (each key's changes are
 * ordered, different keys' are not). The sink retries them instead of refusing the row.
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as DbError)?.code;
  return code === '23505' || code === '23P01';
}

/** Rethrows errors a retry cannot fix as non-retryable; everything else is left to retries. */
export function rethrowClassified(err: unknown, where: string): never {
  const e = err as DbError;
  const hint = typeof e?.code === 'string' ? configurationCodes[e.code] : undefined;
  if (hint) {
    throw ApplicationFailure.nonRetryable(`${where}: ${e.message} (SQLSTATE ${e.code}): ${hint}`, 'ConfigurationError');
  }
  if (typeof e?.code === 'string' && /^2[23]/.test(e.code)) {
    throw ApplicationFailure.nonRetryable(`${where}: ${e.message} (SQLSTATE ${e.code}): a row cannot be written as it is; fix the row or the target schema`, 'DataError');
  }
  const mongoCodes = [e?.code, ...(Array.isArray(e?.writeErrors) ? e.writeErrors.map((w: { code?: number }) => w.code) : [])];
  if (mongoCodes.some((c) => typeof c === 'number' && mongoDataCodes.has(c))) {
    throw ApplicationFailure.nonRetryable(`${where}: ${e.message}: MongoDB refuses this document; fix the row or the mapping`, 'DataError');
  }
  if (err instanceof MappingError) {
    throw ApplicationFailure.nonRetryable(`${where}: ${err.message}`, 'DataError');
  }
  throw err;
}

/** Thrown by decoding for a message that is not a usable Debezium event: it is dead-lettered. */
export class PoisonMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessage';
  }
}
