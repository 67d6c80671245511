/**
 * The device side of fleet provisioning by claim, against a fake MQTT
 * connection: response topics subscribed before each request, the payloads
 * of the AWS IoT Developer Guide's "Device provisioning MQTT API", and the
 * claim certificate's policy.
 */
import {
  CREATE_TOPIC,
  MqttConnection,
  claimPolicyDocument,
  provisionTopic,
  registerDevice,
} from '../../scripts/verify-aws/device';
import { handlerLine } from '../../scripts/verify-aws/steps-limits';

type Reply = (
  topic: string,
  payload: Record<string, any>,
) => { topic: string; body: Record<string, unknown> } | undefined;

function fakeConnection(reply: Reply) {
  const log: string[] = [];
  const published: { topic: string; payload: any }[] = [];
  const listeners: ((t: string, p: Buffer) => void)[] = [];
  const connection: MqttConnection = {
    subscribe: async (topics) => {
      log.push(...topics.map((t) => `sub ${t}`));
    },
    publish: async (topic, payload) => {
      log.push(`pub ${topic}`);
      published.push({ topic, payload: JSON.parse(payload) });
      const answer = reply(topic, JSON.parse(payload));
      if (answer)
        setImmediate(() => listeners.forEach((l) => l(answer.topic, Buffer.from(JSON.stringify(answer.body)))));
    },
    onMessage: (l) => listeners.push(l),
    end: async () => undefined,
  };
  return { connection, log, published };
}

const keys = (topic: string) =>
  topic === CREATE_TOPIC
    ? {
        topic: `${CREATE_TOPIC}/accepted`,
        body: { certificateId: 'c1', certificatePem: 'pem', privateKey: 'key', certificateOwnershipToken: 'tok' },
      }
    : undefined;

describe('registerDevice', () => {
  test('subscribes first, creates keys, then registers with the ownership token and the serial number', async () => {
    const created: string[] = [];
    const { connection, log, published } = fakeConnection(
      (topic) =>
        keys(topic) ?? {
          topic: `${provisionTopic('tpl')}/accepted`,
          body: { thingName: 'ptsverify-0123abcd-ok-1', deviceConfiguration: {} },
        },
    );
    const result = await registerDevice(connection, 'tpl', 'ok-1', (id) => created.push(id));
    expect(result).toEqual({ accepted: true, certificateId: 'c1', thingName: 'ptsverify-0123abcd-ok-1' });
    expect(created).toEqual(['c1']);
    expect(log.findIndex((l) => l.startsWith('pub'))).toBeGreaterThan(
      log.lastIndexOf(`sub ${provisionTopic('tpl')}/rejected`),
    );
    expect(published).toEqual([
      { topic: '$aws/certificates/create/json', payload: {} },
      {
        topic: '$aws/provisioning-templates/tpl/provision/json',
        payload: { certificateOwnershipToken: 'tok', parameters: { SerialNumber: 'ok-1' } },
      },
    ]);
  });

  test('a registration the hook refuses comes back rejected, with the certificate it made reported for cleanup', async () => {
    const created: string[] = [];
    const { connection } = fakeConnection(
      (topic) =>
        keys(topic) ?? {
          topic: `${provisionTopic('tpl')}/rejected`,
          body: {
            statusCode: 403,
            errorCode: 'AccessDenied',
            errorMessage: 'Pre-provisioning hook rejected the request',
          },
        },
    );
    const result = await registerDevice(connection, 'tpl', 'refuse-2', (id) => created.push(id));
    expect(result).toEqual({
      accepted: false,
      certificateId: 'c1',
      error: '403 AccessDenied: Pre-provisioning hook rejected the request',
    });
    expect(created).toEqual(['c1']);
  });

  test('a refused CreateKeysAndCertificate stops before RegisterThing', async () => {
    const { connection, published } = fakeConnection(() => ({
      topic: `${CREATE_TOPIC}/rejected`,
      body: { statusCode: 403, errorCode: 'Forbidden', errorMessage: 'no' },
    }));
    const result = await registerDevice(connection, 'tpl', 'ok-1', () => undefined);
    expect(result).toEqual({ accepted: false, error: 'CreateKeysAndCertificate rejected: 403 Forbidden: no' });
    expect(published).toHaveLength(1);
  });

  test('no answer ends in a timeout error', async () => {
    const { connection } = fakeConnection(() => undefined);
    await expect(registerDevice(connection, 'tpl', 'ok-1', () => undefined, 20)).rejects.toThrow(
      /no answer on \$aws\/certificates\/create\/json/,
    );
  });
});

test("the claim policy allows connecting as the run's devices and the two provisioning APIs of the one template only", () => {
  const doc = JSON.parse(claimPolicyDocument('aws', 'eu-west-1', '111122223333', 'ptsverify-0123abcd-device', 'tpl'));
  const arn = 'arn:aws:iot:eu-west-1:111122223333';
  expect(doc.Statement).toEqual([
    { Effect: 'Allow', Action: 'iot:Connect', Resource: `${arn}:client/ptsverify-0123abcd-device-*` },
    {
      Effect: 'Allow',
      Action: ['iot:Publish', 'iot:Receive'],
      Resource: [`${arn}:topic/$aws/certificates/create/*`, `${arn}:topic/$aws/provisioning-templates/tpl/provision/*`],
    },
    {
      Effect: 'Allow',
      Action: 'iot:Subscribe',
      Resource: [
        `${arn}:topicfilter/$aws/certificates/create/*`,
        `${arn}:topicfilter/$aws/provisioning-templates/tpl/provision/*`,
      ],
    },
  ]);
});

test.each([
  [
    'Lambda JSON format, message a string',
    JSON.stringify({ level: 'INFO', message: JSON.stringify({ message: 'retrying', attempt: 1 }) }),
  ],
  [
    'Lambda JSON format, message an object',
    JSON.stringify({ level: 'INFO', message: { message: 'retrying', attempt: 1 } }),
  ],
  ['text format', `2026-12-04T00:00:00.000Z\treq\tINFO\t${JSON.stringify({ message: 'retrying', attempt: 1 })}`],
  ['the line alone', JSON.stringify({ message: 'retrying', attempt: 1 })],
])("the handler's log line is read from %s", (_format, raw) => {
  expect(handlerLine(raw)).toEqual({ message: 'retrying', attempt: 1 });
});

test("a log event that is not the handler's JSON is skipped", () => {
  expect(handlerLine('START RequestId: abc Version: $LATEST')).toBeUndefined();
  expect(handlerLine(JSON.stringify({ level: 'INFO', message: 'plain text' }))).toEqual({
    level: 'INFO',
    message: 'plain text',
  });
});
