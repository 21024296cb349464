// Which database errors a retry cannot fix. A wrong grant, a missing type or database, or
// bad credentials will fail the same way on every attempt: they become non-retryable
// failures whose message says what to change, instead of retrying silently forever.
import { ApplicationFailure } from '@temporalio/common';

interface PgError {
  code?: string;
  message?: string;
}

const configurationCodes: Record<string, string> = {
  '42501': 'grant the privilege named above to the user in the URL',
  '42704': 'create the missing object on that side, or leave the column out of the migration',
  '42P01': 'check the table name and that the user can see its schema',
  '3D000': 'create the database or fix the database name in the URL',
  '28000': 'fix the user name or the pg_hba.conf entry for this host',
  '28P01': 'fix the password the URL refers to',
};

/** Rethrows config-class PostgreSQL errors as non-retryable; everything else is left to retries. */
export function rethrowClassified(err: unknown, where: string): never {
  const e = err as PgError;
  const hint = e?.code ? configurationCodes[e.code] : undefined;
  if (hint) {
    throw ApplicationFailure.nonRetryable(`${where}: ${e.message} (SQLSTATE ${e.code}): ${hint}`, 'ConfigurationError');
  }
  throw err;
}
