/**
 * lambda/retry.ts, the handler's one retry layer, on its own: what is
 * retried, and what a failed write is known to have changed.
 */
import { HandlerConfig } from '../lambda/context';
import { SettingsError, withRetries } from '../lambda/retry';
import { TIMING } from '../lib/timing';

const config: HandlerConfig = { ...TIMING, retryBaseDelayMs: 40, retryMaxDelayMs: 40 };
const write = { templateName: 'fleet', name: 'UpdateProvisioningTemplate', write: true };

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
}

/** A call as the SDK makes it: refused at once when its signal is already aborted. */
function sdkLike(answer: () => unknown) {
  const signals: boolean[] = [];
  const call = async (signal: AbortSignal) => {
    signals.push(signal.aborted);
    if (signal.aborted) throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    return answer();
  };
  return { call, signals };
}

test('throttling is retried until it passes', async () => {
  let n = 0;
  const { call, signals } = sdkLike(() => {
    if (++n < 3) throw throttling();
    return 'ok';
  });
  const ctx = { config, deadline: Date.now() + 10_000, signal: new AbortController().signal };
  await expect(withRetries(ctx, write, call)).resolves.toBe('ok');
  expect(signals).toHaveLength(3);
});

test('a deadline that passes while waiting to retry sends nothing more, and a write that was only throttled changed nothing', async () => {
  const { call, signals } = sdkLike(() => {
    throw throttling();
  });
  // The signal aborts during the wait before the second attempt, as a late timer leaves it.
  const ctx = { config, deadline: Date.now() + 10_000, signal: AbortSignal.timeout(10) };
  const error: unknown = await withRetries(ctx, write, call).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SettingsError);
  expect((error as SettingsError).changedNothing).toBe(true);
  expect((error as SettingsError).message).toMatch(
    /gave up before the handler's timeout \(last error ThrottlingException/,
  );
  // Only the first attempt went out: none was made with a signal already aborted.
  expect(signals).toEqual([false]);
});

test('a write without an answer (a 5xx) may have landed', async () => {
  const { call } = sdkLike(() => {
    throw Object.assign(new Error('boom'), { name: 'InternalFailureException', $metadata: { httpStatusCode: 500 } });
  });
  const ctx = { config, deadline: Date.now() + 100, signal: AbortSignal.timeout(100) };
  const error = (await withRetries(ctx, write, call).catch((e: unknown) => e)) as SettingsError;
  expect(error.changedNothing).toBe(false);
});

test('an error that is not worth retrying fails at once, with its name and message', async () => {
  const { call, signals } = sdkLike(() => {
    throw Object.assign(new Error('Version 9 does not exist'), {
      name: 'InvalidRequestException',
      $metadata: { httpStatusCode: 400 },
    });
  });
  const ctx = { config, deadline: Date.now() + 10_000, signal: new AbortController().signal };
  const error = (await withRetries(ctx, write, call).catch((e: unknown) => e)) as SettingsError;
  expect(error.message).toBe(
    'UpdateProvisioningTemplate on provisioning template "fleet" failed: InvalidRequestException: Version 9 does not exist',
  );
  expect(error.changedNothing).toBe(true);
  expect(signals).toHaveLength(1);
});
