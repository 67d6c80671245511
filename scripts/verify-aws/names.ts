/**
 * Every name `npm run verify:aws` gives to what it creates: all of them start
 * with the run prefix, `ptsverify-` and 8 hex digits, so that the cleanup
 * can find a run's leftovers by name and never touches anything else.
 */
import { randomBytes } from 'node:crypto';

/** What every run prefix starts with: `--cleanup` without `--prefix` looks for all of them. */
export const FAMILY = 'ptsverify-';
const RUN_PREFIX = /^ptsverify-[0-9a-f]{8}$/;

/** A new run prefix. */
export function newRunPrefix(random: () => Buffer = () => randomBytes(4)): string {
  return `${FAMILY}${random().toString('hex').slice(0, 8)}`;
}

/** Whether `prefix` is a run prefix, or the family prefix (every run). */
export function isPrefix(prefix: string): boolean {
  return prefix === FAMILY || RUN_PREFIX.test(prefix);
}

/** The thing attribute that marks the things a run's devices registered. */
export const RUN_ATTRIBUTE = 'verifyRun';

/** The serial numbers of the two devices: the hook allows the first and refuses the second. */
export const ALLOWED_SERIAL = 'ok-1';
export const REFUSED_SERIAL = 'refuse-2';

/** The names of one run's resources. */
export interface RunNames {
  readonly prefix: string;
  /** The stack holding both templates, the roles and the first hook (CloudFormation name). */
  readonly mainStack: string;
  /** The stack that manages the second template from outside (CloudFormation name). */
  readonly extStack: string;
  /** The template created in the main stack, managed there by `ref`. */
  readonly template: string;
  /** The template created in the main stack, managed by the ext stack by name. */
  readonly extTemplate: string;
  readonly initialRole: string;
  readonly managedRole: string;
  readonly hookFunction: string;
  readonly extHookFunction: string;
  readonly failFunction: string;
  /** The IoT policy of the claim certificate. */
  readonly claimPolicy: string;
  /** MQTT client ids of the devices start with this. */
  readonly clientIdPrefix: string;
}

export function runNames(prefix: string): RunNames {
  if (!RUN_PREFIX.test(prefix)) {
    throw new Error(`Not a run prefix: ${JSON.stringify(prefix)} (expected ptsverify- and 8 hex digits).`);
  }
  return {
    prefix,
    mainStack: `${prefix}-main`,
    extStack: `${prefix}-ext`,
    template: `${prefix}-fleet`,
    extTemplate: `${prefix}-external`,
    initialRole: `${prefix}-initial-role`,
    managedRole: `${prefix}-managed-role`,
    hookFunction: `${prefix}-hook`,
    extHookFunction: `${prefix}-ext-hook`,
    failFunction: `${prefix}-fail`,
    claimPolicy: `${prefix}-claim`,
    clientIdPrefix: `${prefix}-device`,
  };
}

/** The name of the thing a device with `serial` gets (the template body's rule). */
export function thingName(prefix: string, serial: string): string {
  return `${prefix}-${serial}`;
}
