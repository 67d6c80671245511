/**
 * One device registering through fleet provisioning by claim, over MQTT
 * (AWS IoT Developer Guide, "Device provisioning MQTT API"): connected with
 * the claim certificate, it subscribes to the response topics first, then
 * asks for keys and a certificate (CreateKeysAndCertificate) and registers
 * with the template (RegisterThing). The MQTT client is the `mqtt` package;
 * tests inject a fake connection.
 */
import * as mqtt from 'mqtt';

export interface MqttConnection {
  subscribe(topics: string[]): Promise<void>;
  publish(topic: string, payload: string): Promise<void>;
  onMessage(listener: (topic: string, payload: Buffer) => void): void;
  end(): Promise<void>;
}

export interface MqttCredentials {
  /** The account's IoT data endpoint (iot:Data-ATS), a host name. */
  readonly endpoint: string;
  readonly clientId: string;
  readonly certificatePem: string;
  readonly privateKey: string;
}

export type MqttConnect = (credentials: MqttCredentials) => Promise<MqttConnection>;

/** Connects with the `mqtt` package: MQTT 3.1.1 over TLS on port 8883, client certificate authentication. */
export const connectMqtt: MqttConnect = async (c) => {
  const client = await mqtt.connectAsync(`mqtts://${c.endpoint}:8883`, {
    clientId: c.clientId,
    cert: c.certificatePem,
    key: c.privateKey,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 15_000,
  });
  return {
    subscribe: async (topics) => {
      await client.subscribeAsync(topics, { qos: 1 });
    },
    publish: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    onMessage: (listener) => client.on('message', listener),
    end: () => client.endAsync(),
  };
};

export const CREATE_TOPIC = '$aws/certificates/create/json';
export const provisionTopic = (templateName: string): string =>
  `$aws/provisioning-templates/${templateName}/provision/json`;

export type Registration =
  | { readonly accepted: true; readonly certificateId: string; readonly thingName: string }
  | { readonly accepted: false; readonly certificateId?: string; readonly error: string };

/** Waits for the answer to a request on `topic`: its `/accepted` or `/rejected` message. */
function answer(
  connection: MqttConnection,
  topic: string,
  timeoutMs: number,
): { promise: Promise<{ accepted: boolean; body: Record<string, unknown> }>; cancel: () => void } {
  let cancel = (): void => undefined;
  const promise = new Promise<{ accepted: boolean; body: Record<string, unknown> }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer on ${topic}/accepted or /rejected in ${timeoutMs} ms`)),
      timeoutMs,
    );
    cancel = () => clearTimeout(timer);
    connection.onMessage((t, payload) => {
      if (t !== `${topic}/accepted` && t !== `${topic}/rejected`) return;
      clearTimeout(timer);
      try {
        resolve({ accepted: t.endsWith('/accepted'), body: JSON.parse(payload.toString()) as Record<string, unknown> });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
  return { promise, cancel };
}

function rejection(body: Record<string, unknown>): string {
  return `${String(body.statusCode)} ${String(body.errorCode)}: ${String(body.errorMessage)}`;
}

/**
 * Registers one device with `serial` on an open connection. The certificate
 * CreateKeysAndCertificate made is reported through `created` as soon as it
 * exists, so the cleanup deletes it whatever happens next.
 */
export async function registerDevice(
  connection: MqttConnection,
  templateName: string,
  serial: string,
  created: (certificateId: string) => void,
  timeoutMs = 30_000,
): Promise<Registration> {
  const provision = provisionTopic(templateName);
  await connection.subscribe([
    `${CREATE_TOPIC}/accepted`,
    `${CREATE_TOPIC}/rejected`,
    `${provision}/accepted`,
    `${provision}/rejected`,
  ]);
  const keys = answer(connection, CREATE_TOPIC, timeoutMs);
  await connection.publish(CREATE_TOPIC, '{}');
  const made = await keys.promise;
  if (!made.accepted) return { accepted: false, error: `CreateKeysAndCertificate rejected: ${rejection(made.body)}` };
  const certificateId = String(made.body.certificateId);
  created(certificateId);
  const registered = answer(connection, provision, timeoutMs);
  await connection.publish(
    provision,
    JSON.stringify({
      certificateOwnershipToken: made.body.certificateOwnershipToken,
      parameters: { SerialNumber: serial },
    }),
  );
  const result = await registered.promise;
  return result.accepted
    ? { accepted: true, certificateId, thingName: String(result.body.thingName) }
    : { accepted: false, certificateId, error: rejection(result.body) };
}

/** The claim certificate's IoT policy: connect as the run's devices, use the two provisioning APIs only. */
export function claimPolicyDocument(
  partition: string,
  region: string,
  account: string,
  clientIdPrefix: string,
  templateName: string,
): string {
  const arn = (resource: string): string => `arn:${partition}:iot:${region}:${account}:${resource}`;
  const topics = ['$aws/certificates/create/*', `$aws/provisioning-templates/${templateName}/provision/*`];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Connect', Resource: arn(`client/${clientIdPrefix}-*`) },
      { Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive'], Resource: topics.map((t) => arn(`topic/${t}`)) },
      { Effect: 'Allow', Action: 'iot:Subscribe', Resource: topics.map((t) => arn(`topicfilter/${t}`)) },
    ],
  });
}
