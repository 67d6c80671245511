/**
 * What a run created that CloudFormation does not know about (the devices'
 * things and certificates, the claim certificate and its policy), written to
 * a file as it happens, so an interrupted run's leftovers can still be found.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LedgerData {
  readonly prefix: string;
  readonly region: string;
  readonly things: string[];
  readonly certificates: { id: string; arn: string }[];
  readonly policies: string[];
}

/** Where ledgers are kept. */
export const LEDGER_DIR = path.join(os.tmpdir(), 'cdk-iot-provisioning-template-settings-verify-aws');

export class Ledger {
  public readonly data: LedgerData;

  /** @param file where to keep it; none keeps it in memory only (tests) */
  constructor(
    prefix: string,
    region: string,
    private readonly file?: string,
  ) {
    this.data = { prefix, region, things: [], certificates: [], policies: [] };
    this.save();
  }

  public thing(name: string): void {
    this.data.things.push(name);
    this.save();
  }

  public certificate(id: string, arn: string): void {
    this.data.certificates.push({ id, arn });
    this.save();
  }

  public policy(name: string): void {
    this.data.policies.push(name);
    this.save();
  }

  /** Removes the file once everything is cleaned up. */
  public done(): void {
    if (this.file) fs.rmSync(this.file, { force: true });
  }

  private save(): void {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify(this.data, undefined, 2) + '\n');
  }
}

/** The ledgers of earlier runs whose prefix starts with `prefix`. */
export function earlierLedgers(prefix: string, dir = LEDGER_DIR): LedgerData[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as LedgerData);
}
