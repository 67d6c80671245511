/**
 * lib/timing.ts: the time limits fit inside each other, and both the
 * construct and the handler take theirs from it.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromEnv } from '../lambda/context';
import { ProvisioningTemplateSettings } from '../lib';
import { RESOURCE_TYPE } from '../lib/handler-contract';
import { TIMING, Timing, timingProblems } from '../lib/timing';

test("today's limits fit", () => {
  expect(timingProblems(TIMING)).toEqual([]);
});

describe('each rule fails when its limits no longer fit', () => {
  test.each<[string, Partial<Timing>, RegExp]>([
    [
      'a Lambda timeout over 15 minutes',
      { handlerTimeoutMs: 16 * 60_000, serviceTimeoutMs: 30 * 60_000 },
      /handlerTimeoutMs 960000 is over Lambda's/,
    ],
    ['a service timeout over an hour', { serviceTimeoutMs: 61 * 60_000 }, /serviceTimeoutMs 3660000 is over/],
    [
      'a late event that could outlive the service timeout',
      { maxEventAgeMs: 8 * 60_000 },
      /maxEventAgeMs \+ handlerTimeoutMs \(660000\) must be under serviceTimeoutMs \(600000\)/,
    ],
    [
      'a propagation window that leaves no time to check and answer',
      { rolePropagationMs: 150_000 },
      /rolePropagationMs \+ retryMaxDelayMs \+ checkReserveMs \+ responseReserveMs \(200000\) must be under handlerTimeoutMs/,
    ],
    [
      'a request longer than half the check reserve',
      { requestTimeoutMs: 12_000 },
      /requestTimeoutMs \(12000\) must fit in half/,
    ],
    [
      'a response reserve shorter than one request',
      { responseReserveMs: 10_500 },
      /must fit in responseReserveMs \(10500\)/,
    ],
    [
      'a first retry delay over the longest',
      { retryBaseDelayMs: 20_000 },
      /retryBaseDelayMs \(20000\) must be positive/,
    ],
    ['no attempt to answer', { responseAttempts: 0 }, /responseAttempts \(0\) must be at least 1/],
  ])('%s', (_, change, problem) => {
    const problems = timingProblems({ ...TIMING, ...change });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });
});

test('the handler defaults to lib/timing.ts, and each tunable can be overridden from the environment', () => {
  const defaults = configFromEnv();
  for (const [key, value] of Object.entries(defaults)) {
    expect([key, value]).toEqual([key, TIMING[key as keyof Timing]]);
  }
  process.env.SETTINGS_CHECK_RESERVE_MS = '123';
  process.env.SETTINGS_RETRY_BASE_DELAY_MS = 'not a number';
  try {
    expect(configFromEnv()).toEqual({ ...defaults, checkReserveMs: 123 });
  } finally {
    delete process.env.SETTINGS_CHECK_RESERVE_MS;
    delete process.env.SETTINGS_RETRY_BASE_DELAY_MS;
  }
});

test('the construct renders its timeouts from lib/timing.ts', () => {
  const stack = new Stack(new App(), 'Timing');
  new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'fleet', enabled: true });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Lambda::Function', { Timeout: TIMING.handlerTimeoutMs / 1000 });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumEventAgeInSeconds: TIMING.maxEventAgeMs / 1000,
  });
  template.hasResourceProperties(RESOURCE_TYPE, { ServiceTimeout: String(TIMING.serviceTimeoutMs / 1000) });
});
