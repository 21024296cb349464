// How much bigger production is than what the rehearsal copied: the factor the ETA multiplies
// the measured times by, and where it came from (shown beside the ETA, so a reader can judge it).

export type ScaleArgument = { factor: number } | { rows: number };

export interface Scale {
  /** Production size ÷ rehearsal size. */
  factor: number;
  /** Where the factor came from, as the report shows it. */
  basis: string;
}

const factorForm = /^(\d+(?:\.\d+)?|\.\d+)x$/i;
// Digits grouped by `_` or `,` the way people write big counts (50_000_000, 50,000,000).
const rowsForm = /^\d+(?:[_,]\d+)*$/;

/** `12x`, `1.5X` → a factor; `50000000`, `50_000_000`, `50,000,000` → a production row count. */
export function parseScale(text: string): ScaleArgument {
  const t = text.trim();
  const factor = factorForm.exec(t);
  if (factor) {
    const value = Number(factor[1]);
    if (value > 0 && Number.isFinite(value)) return { factor: value };
  } else if (rowsForm.test(t)) {
    const rows = Number(t.replace(/[_,]/g, ''));
    if (rows > 0 && Number.isSafeInteger(rows)) return { rows };
  }
  throw new Error(`--scale takes a factor like 12x or a production row count like 50000000, not ${JSON.stringify(text)}`);
}

export interface ScaleSources {
  /** --scale as the operator wrote it. */
  scale?: string;
  /** The spec's rehearsal.production. */
  production?: { rows?: number; bytes?: number };
  /** What the rehearsal copied. */
  rehearsalRows: number;
  rehearsalBytes: number;
  /** Rows the source's statistics say the spec's tables hold (pg_class.reltuples), when read. */
  sourceStatisticsRows?: number | null;
}

/**
 * The factor, by priority: what the operator said (--scale), what the spec says production is,
 * what the source's statistics say it holds (when the rehearsal ran on a subset), else 1.
 */
export function resolveScale(opts: ScaleSources): Scale {
  if (opts.scale !== undefined) {
    const arg = parseScale(opts.scale);
    if ('factor' in arg) return { factor: arg.factor, basis: `--scale ${arg.factor}x` };
    // Asked for explicitly, so an answer that cannot be computed is an error, not a fallback.
    if (opts.rehearsalRows <= 0) throw new Error(`--scale ${opts.scale}: the rehearsal copied no rows, so a row count gives no factor; give a factor like 12x`);
    return { factor: arg.rows / opts.rehearsalRows, basis: `--scale ${grouped(arg.rows)} rows` };
  }
  // From here on a source that cannot give a factor (nothing copied to divide by) is skipped.
  const production = opts.production;
  if (production?.rows && opts.rehearsalRows > 0) return { factor: production.rows / opts.rehearsalRows, basis: 'spec rehearsal.production.rows' };
  if (production?.bytes && opts.rehearsalBytes > 0) return { factor: production.bytes / opts.rehearsalBytes, basis: 'spec rehearsal.production.bytes' };
  const stats = opts.sourceStatisticsRows;
  // Only above 1: statistics are estimates, and a rehearsal that copied the whole source would
  // otherwise get a factor of 0.98 or 1.03 from their noise.
  if (stats && opts.rehearsalRows > 0 && stats / opts.rehearsalRows > 1) {
    return { factor: stats / opts.rehearsalRows, basis: `the source's statistics (${grouped(stats)} rows)` };
  }
  return { factor: 1, basis: "the rehearsal's own size" };
}

function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
