// The rehearsal report as Markdown: for a pull request, a wiki page or a terminal. The same
// sections as the HTML report, without its charts.
import type { RehearsalRecord } from '../../contracts/rehearsal';
import { headline, reportSections, type Block, type Cell } from './sections';

export function renderMarkdown(record: RehearsalRecord, previous: RehearsalRecord[]): string {
  const out: string[] = [`# Rehearsal of ${md(record.specName)}: ${record.verdict === 'go' ? 'GO' : 'NO-GO'}`, '', `**${md(headline(record))}**`, ''];
  for (const section of reportSections(record, previous)) {
    out.push(`## ${md(section.title)}`, '');
    for (const block of section.blocks) {
      const lines = renderBlock(block);
      if (lines.length) out.push(...lines, '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function renderBlock(block: Block): string[] {
  switch (block.kind) {
    case 'text':
      return [md(block.text)];
    case 'list':
      return block.items.map((i) => `- ${md(i)}`);
    case 'table':
      return [
        `| ${block.headers.map(md).join(' | ')} |`,
        `| ${block.numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
        ...block.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
      ];
    case 'chart':
      return [];
  }
}

function cell(c: Cell): string {
  if (typeof c === 'string') return md(c);
  return c.tone === 'fail' ? `**${md(c.text)}**` : md(c.text);
}

/**
 * Text from the record (table names, error messages, step details) made inert: a `|` would
 * split a table cell, a newline would end the row, and most Markdown renderers pass raw HTML
 * through, so `<` (and an `&` that would start an entity) are written as entities.
 */
function md(text: string): string {
  return text
    .replace(/&(?=#?[a-z0-9]+;)/gi, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\*/g, '\\*')
    .replace(/`/g, '\\`')
    .replace(/\r?\n/g, ' ');
}
