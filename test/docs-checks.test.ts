/**
 * Every check at synth that API.md documents is also in the README or its
 * docs, and every warning id the construct emits is listed there, so a user
 * who meets one can look it up.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const API = read('API.md');
const DOCS = [
  read('README.md'),
  ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => read(path.join('docs', f))),
].join('\n');

/** Each documented check: how API.md states it, and how the README or docs name it. */
const CHECKS: { name: string; api: RegExp; docs: RegExp }[] = [
  { name: 'same template twice', api: /twice in one stack[\s\S]*is an error/, docs: /same template twice/i },
  {
    name: 'maybe managed twice',
    api: /a warning when a stack's environment is not known/,
    docs: /templateMaybeManagedTwice/,
  },
  { name: 'setting differs', api: /different values\s+is a warning/, docs: /templateSettingDiffers/ },
  {
    name: 'enabled before hook',
    api: /`enabled` on the template while this construct sets a\s+hook/,
    docs: /templateEnabledBeforeHook/,
  },
  { name: 'change not followed', api: /cannot\s+be followed/, docs: /templateChangeNotFollowed/ },
  { name: 'pinned version', api: /synth warning says that a change to that template's/, docs: /defaultVersionPinned/ },
  {
    name: 'hook in another account',
    api: /another account is an error at synth/,
    docs: /hook function in another account/,
  },
  {
    name: 'hook account unknown',
    api: /warning when either account is known only at deploy time/,
    docs: /hookAccountUnknown/,
  },
  {
    name: 'hook on a non-fleet template',
    api: /FLEET_PROVISIONING is an error at synth/,
    docs: /not `FLEET_PROVISIONING`/,
  },
  {
    name: 'hook timeout over 5 seconds',
    api: /whose timeout is over 5 seconds is a warning/,
    docs: /hookTimeoutTooLong/,
  },
  {
    name: 'hook reserved concurrency 0',
    api: /whose reserved concurrency is 0 \(Lambda throttles every call/,
    docs: /hookReservedConcurrencyZero/,
  },
  { name: 'SNAPSHOT refused', api: /`RemovalPolicy\.SNAPSHOT` is refused/, docs: /`SNAPSHOT`: refused/ },
  { name: 'RETAIN with a hook', api: /RETAIN policies are refused at synth/, docs: /RETAIN policy\s+with a hook/ },
];

/** API.md's paragraphs that state a check (an error, a warning, a refusal). */
const checkParagraphs = API.split(/\n\s*\n/).filter((p) => /\b(is an error|warning|refused)\b/.test(p));

describe('checks at synth in the docs', () => {
  test('every paragraph of API.md that states a check is one of the known checks (add a new one to CHECKS)', () => {
    expect(checkParagraphs.length).toBeGreaterThanOrEqual(6);
    const unknown = checkParagraphs.filter((p) => !CHECKS.some((c) => c.api.test(p)));
    expect(unknown).toEqual([]);
  });

  test.each(CHECKS)('$name: stated in API.md, and mentioned in the README or docs/', ({ api, docs }) => {
    expect(API).toMatch(api);
    expect(DOCS).toMatch(docs);
  });

  test('every warning id the construct emits is listed in the README or docs/', () => {
    const ids = fs
      .readdirSync(path.join(ROOT, 'lib'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .flatMap((f) => [...read(path.join('lib', f)).matchAll(/'cdk-iot-provisioning-template-settings:(\w+)'/g)])
      .map((m) => m[1]);
    expect(ids.length).toBeGreaterThanOrEqual(8);
    expect(ids.filter((id) => !DOCS.includes(`\`${id}\``))).toEqual([]);
  });
});
