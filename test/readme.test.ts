/**
 * The README stays short, its time limits come from lib/timing.ts, and its
 * relative links lead somewhere.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TIMING } from '../lib/timing';
import {
  END_MARKER,
  README,
  START_MARKER,
  formatDuration,
  renderTimingTable,
  timingBlock,
} from '../scripts/timing-table';

const MAX_LINES = 300;
const readme = fs.readFileSync(README, 'utf8');

/** Markdown without fenced code blocks and inline code, where `](` and numbers are not prose. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchors for the headings of `markdown`. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}\s+(.*)$/gm)) {
    const base = text
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** Ways prose could state `ms` again, as a pattern. */
function spellings(ms: number): RegExp {
  const text = formatDuration(ms);
  const [value, unit] = text.split(' ');
  const words = unit === 'min' ? 'min|minutes?|-minute' : unit === 's' ? 's|seconds?|-second' : 'ms';
  return new RegExp(`(^|[^\\d.,])${value.replace('.', '\\.')} ?(${words})\\b`, 'i');
}

describe('README.md', () => {
  test(`is at most ${MAX_LINES} lines`, () => {
    const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
    expect(lines).toBeLessThanOrEqual(MAX_LINES);
  });

  test('states the time limits as lib/timing.ts has them (npx tsx scripts/timing-table.ts --write to update)', () => {
    const block = timingBlock(readme);
    if (block === undefined) {
      throw new Error(`README.md has no ${START_MARKER} ... ${END_MARKER} block: add one to its Limits section.`);
    }
    if (block !== renderTimingTable()) {
      throw new Error(
        'The time limits in README.md differ from lib/timing.ts: run "npx tsx scripts/timing-table.ts --write".\n\n' +
          `README.md has:\n${block}\n\nlib/timing.ts gives:\n${renderTimingTable()}`,
      );
    }
  });

  test('states those time limits nowhere else (refer to the table in Limits instead)', () => {
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER) + END_MARKER.length;
    const elsewhere = prose(readme.slice(0, start) + readme.slice(end));
    const repeated = Object.entries(TIMING)
      .filter(([key]) => key.endsWith('Ms'))
      .map(([key, ms]) => ({ key, match: spellings(ms as number).exec(elsewhere) }))
      .filter(({ match }) => match !== null)
      .map(({ key, match }) => `${key}: "${match![0].trim()}"`);
    expect(repeated).toEqual([]);
  });

  test('has no relative link to a file or heading that does not exist', () => {
    const root = path.dirname(README);
    const broken: string[] = [];
    for (const [, target] of prose(readme).matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [file, fragment] = target.split('#', 2);
      const resolved = path.resolve(root, decodeURIComponent(file));
      if (file !== '' && !fs.existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      const markdown = file === '' ? readme : resolved.endsWith('.md') ? fs.readFileSync(resolved, 'utf8') : undefined;
      if (fragment && markdown !== undefined && !anchors(markdown).has(fragment)) {
        broken.push(`${target}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });
});
