// The rehearsal report in the format asked for (--format html|md|json), and the file name it
// is saved under: by spec and start time, so reports of successive rehearsals sort in order.
import type { RehearsalRecord } from '../../contracts/rehearsal';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { previousOfSameSpec, trendPoint } from './sections';

export type ReportFormat = 'html' | 'md' | 'json';

export const reportFormats: readonly ReportFormat[] = ['html', 'md', 'json'];

export function renderReport(record: RehearsalRecord, previous: RehearsalRecord[], format: ReportFormat): string {
  switch (format) {
    case 'html':
      return renderHtml(record, previous);
    case 'md':
      return renderMarkdown(record, previous);
    case 'json':
      // The whole record for tools, and only the trend's figures of the earlier runs (their
      // own records are stored beside it).
      return `${JSON.stringify({ record, trend: previousOfSameSpec(record, previous).map(trendPoint) }, null, 2)}\n`;
  }
}

/** `rehearsal-orders-20261201T100000.html` (start time in UTC). */
export function reportFileName(record: Pick<RehearsalRecord, 'specName' | 'startedAt'>, format: ReportFormat): string {
  const ms = Date.parse(record.startedAt);
  const stamp = Number.isNaN(ms) ? 'unknown' : new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, '');
  // Spec names are already safe (lower-case, digits, - and _); a record from elsewhere may not be.
  const name = record.specName.replace(/[^A-Za-z0-9_-]+/g, '-') || 'spec';
  return `rehearsal-${name}-${stamp}.${format}`;
}
