/**
 * What every step of one invocation carries: the tunables, and the deadline
 * its calls must end by, with the abort signal that enforces it.
 */
import { TIMING, Timing } from '../lib/timing';

/** The handler's tunables: lib/timing.ts, each overridable from the environment so tests can shrink them. */
export type HandlerConfig = Omit<Timing, 'handlerTimeoutMs' | 'serviceTimeoutMs' | 'maxEventAgeMs'>;

/** Environment variable of each tunable (SETTINGS_RESPONSE_RESERVE_MS for responseReserveMs, ...). */
function envName(key: string): string {
  return `SETTINGS_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Read on each invocation, so a test can change a tunable between events. */
export function configFromEnv(): HandlerConfig {
  const config: Record<string, number> = {};
  // Every tunable (the three the construct alone uses are read too, and unused).
  for (const [key, fallback] of Object.entries(TIMING as unknown as Record<string, number>)) {
    const raw = process.env[envName(key)];
    const value = raw === undefined || raw === '' ? NaN : Number(raw);
    config[key] = Number.isFinite(value) && value >= 0 ? value : fallback;
  }
  return config as unknown as HandlerConfig;
}

/** One phase of an invocation: its calls end by `deadline`, when `signal` aborts them. */
export interface Ctx {
  readonly config: HandlerConfig;
  readonly deadline: number;
  readonly signal: AbortSignal;
}

/** A context whose signal aborts at `deadline`; `dispose` clears its timer. */
export function phase(config: HandlerConfig, deadline: number, outer?: AbortSignal): Ctx & { dispose(): void } {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - Date.now()));
  const signal = outer ? AbortSignal.any([outer, abort.signal]) : abort.signal;
  return { config, deadline, signal, dispose: () => clearTimeout(timer) };
}

/** Run `fn` with a context whose calls end `reserveMs` before `ctx`'s deadline, kept for what follows. */
export async function reserving<T>(ctx: Ctx, reserveMs: number, fn: (inner: Ctx) => Promise<T>): Promise<T> {
  const inner = phase(ctx.config, ctx.deadline - reserveMs, ctx.signal);
  try {
    return await fn(inner);
  } finally {
    inner.dispose();
  }
}

/** One structured log line (the function logs JSON). Never given the response URL. */
export function log(message: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ message, ...fields }));
}
