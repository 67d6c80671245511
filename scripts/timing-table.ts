/**
 * The README's table of time limits, rendered from lib/timing.ts: the only
 * place the README states them. test/readme.test.ts fails when the block
 * between the markers differs from what this renders.
 *
 *   npx tsx scripts/timing-table.ts           # print the table
 *   npx tsx scripts/timing-table.ts --write   # rewrite the block in README.md
 */
import * as fs from 'fs';
import * as path from 'path';
import { TIMING, Timing } from '../lib/timing';

export const README = path.join(__dirname, '..', 'README.md');
export const START_MARKER = '<!-- timing:start -->';
export const END_MARKER = '<!-- timing:end -->';

/** A duration as the README states it: whole minutes from 2 minutes on, else seconds, else milliseconds. */
export function formatDuration(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}

/** One row per limit a user may meet: its name, its value, what it means. */
function rows(t: Timing): [string, string, string][] {
  const d = formatDuration;
  return [
    ['Lambda timeout', d(t.handlerTimeoutMs), "The handler's timeout. It always answers CloudFormation before it."],
    [
      'Service timeout',
      d(t.serviceTimeoutMs),
      'How long CloudFormation waits for an answer that never comes; then the resource fails.',
    ],
    [
      'Max event age',
      d(t.maxEventAgeMs),
      'An event Lambda has held longer (queued, or retried after a crash) is dropped, not run.',
    ],
    [
      'Response reserve',
      d(t.responseReserveMs),
      'The handler stops its own work this long before the Lambda timeout, to send the answer.',
    ],
    [
      'Check reserve',
      d(t.checkReserveMs),
      'A write CloudFormation is asked about afterwards stops this much earlier still.',
    ],
    [
      'IAM propagation window',
      d(t.rolePropagationMs),
      'How long a role AWS IoT cannot assume yet, or an access denial, is retried.',
    ],
    [
      'Request timeout',
      d(t.requestTimeoutMs),
      'One HTTP request (to AWS IoT, CloudFormation or the answer URL) is abandoned after this.',
    ],
    [
      'Retry delay',
      `${d(t.retryBaseDelayMs)} to ${d(t.retryMaxDelayMs)}`,
      'Between retries: doubles from the first value up to the second, with jitter.',
    ],
  ];
}

/** A markdown table with its columns padded as Prettier pads them (ASCII text only). */
function markdownTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The block's content, between the markers: the table of `timing` (lib/timing.ts by default). */
export function renderTimingTable(timing: Timing = TIMING): string {
  return markdownTable(['Limit', 'Value', 'What it means'], rows(timing));
}

/** What is between the markers in `markdown`, trimmed; undefined without both markers in order. */
export function timingBlock(markdown: string): string | undefined {
  const start = markdown.indexOf(START_MARKER);
  const end = markdown.indexOf(END_MARKER);
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start + START_MARKER.length, end).trim();
}

/** `markdown` with the block between the markers replaced by `table`. */
export function withTimingBlock(markdown: string, table: string): string {
  const start = markdown.indexOf(START_MARKER);
  const end = markdown.indexOf(END_MARKER);
  if (start < 0 || end < start) {
    throw new Error(`README.md needs ${START_MARKER} and then ${END_MARKER} where the table goes.`);
  }
  return `${markdown.slice(0, start + START_MARKER.length)}\n\n${table}\n\n${markdown.slice(end)}`;
}

if (require.main === module) {
  const table = renderTimingTable();
  if (process.argv.includes('--write')) {
    fs.writeFileSync(README, withTimingBlock(fs.readFileSync(README, 'utf8'), table));
    console.log(`Rewrote the timing table in ${path.relative(process.cwd(), README) || README}.`);
  } else {
    console.log(table);
  }
}
