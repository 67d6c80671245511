/**
 * A small fake of the AWS account a verify:aws run works on, behind
 * aws-sdk-client-mock: the fake CDK runner deploys each phase as the
 * construct would behave, the mocked SDK calls read and delete what it made,
 * and a fake MQTT connection registers devices through the hook's rule.
 * `failIn` makes the first call of one step throw (test/verify-aws/run.test.ts).
 */
import * as cfn from '@aws-sdk/client-cloudformation';
import * as logs from '@aws-sdk/client-cloudwatch-logs';
import * as iam from '@aws-sdk/client-iam';
import * as iot from '@aws-sdk/client-iot';
import * as lambda from '@aws-sdk/client-lambda';
import * as sts from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { DESCRIPTIONS, VerifyAppProps } from '../../scripts/verify-aws/app';
import type { CdkRunner } from '../../scripts/verify-aws/cdk';
import { Clients } from '../../scripts/verify-aws/clients';
import type { MqttConnect, MqttConnection } from '../../scripts/verify-aws/device';
import { RunNames, runNames } from '../../scripts/verify-aws/names';
import { HOOK_TAG, OWNER_TAG } from '../../scripts/verify-aws/template-state';
import { installHandlers } from './fake-aws-handlers';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
const arn = (service: string, resource: string, region = REGION) =>
  `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;

interface Template {
  description?: string;
  enabled?: boolean;
  defaultVersionId: number;
  versions: number;
  role: string;
  hook?: string;
  tags: Record<string, string>;
}

export class FakeAws {
  public readonly names: RunNames;
  public readonly templates = new Map<string, Template>();
  public readonly stacks = new Map<string, string>();
  public readonly functions = new Set<string>();
  public readonly roles = new Set<string>();
  public readonly logGroups = new Set<string>();
  public readonly policies = new Set<string>();
  public readonly certificates = new Set<string>();
  public readonly things = new Map<string, { attributes: Record<string, string>; principals: string[] }>();
  public readonly grants = new Map<string, string[]>();
  public readonly hookLog: string[] = [];
  public readonly events = new Map<string, cfn.StackEvent[]>();
  public readonly calls: string[] = [];
  public currentStep = '';
  public failIn?: string;
  /** False: STS answers as the SDK does without credentials. */
  public credentials = true;
  private injected = false;
  private nextCert = 1;

  constructor(public readonly prefix: string) {
    this.names = runNames(prefix);
  }

  /** Every call of the run passes here: throws once in the step `failIn`. */
  public touch(what: string): void {
    this.calls.push(`${this.currentStep}:${what}`);
    if (this.failIn && this.currentStep === this.failIn && !this.injected) {
      this.injected = true;
      throw Object.assign(new Error(`injected failure in ${this.failIn} (${what})`), {
        name: 'InternalFailureException',
      });
    }
  }

  /** What is left of the run's resources. */
  public leftovers(): string[] {
    return [
      ...[...this.stacks.keys()].map((s) => `stack ${s}`),
      ...[...this.templates.keys()].map((t) => `template ${t}`),
      ...[...this.functions].map((f) => `function ${f}`),
      ...[...this.roles].map((r) => `role ${r}`),
      ...[...this.logGroups].map((g) => `log group ${g}`),
      ...[...this.policies].map((p) => `policy ${p}`),
      ...[...this.certificates].map((c) => `certificate ${c}`),
      ...[...this.things.keys()].map((t) => `thing ${t}`),
    ];
  }

  private stackResources(stack: string, hook: string): void {
    this.functions.add(hook).add(`${stack}-Handler-abc`);
    this.roles.add(`${stack}-HookServiceRole-abc`).add(`${stack}-HandlerRole-abc`);
    this.logGroups.add(`/aws/lambda/${hook}`).add(`${stack}-IoTProvisioningTemplateSettingsProviderLogs-abc`);
  }

  private event(stack: string, type: string, status: string, reason?: string): void {
    const list = this.events.get(stack) ?? [];
    list.unshift({
      EventId: `e${list.length + 1}`,
      ResourceType: type,
      ResourceStatus: status,
      ResourceStatusReason: reason,
      Timestamp: new Date(),
    } as cfn.StackEvent);
    this.events.set(stack, list);
  }

  /** The fake CDK CLI: each phase does what the construct does on AWS. */
  public readonly cdk: CdkRunner = {
    deploy: async (stackId: 'Main' | 'Ext', props: VerifyAppProps) => {
      this.touch(`cdk deploy ${stackId}`);
      const n = this.names;
      const hookArn = (fn: string) => arn('lambda', `function:${fn}`);
      const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
      const owner = (stack: string, id: string) => ({ [OWNER_TAG]: `${stack}/${id}/12345678` });
      if (stackId === 'Main') {
        const phase = props.main;
        if (phase === 'create') {
          this.stackResources(n.mainStack, n.hookFunction);
          this.roles.add(n.initialRole).add(n.managedRole);
          this.templates.set(n.extTemplate, {
            description: DESCRIPTIONS.extBefore,
            enabled: false,
            defaultVersionId: 1,
            versions: 1,
            role: roleArn(n.initialRole),
            tags: {},
          });
          this.templates.set(n.template, {
            description: DESCRIPTIONS.managed,
            enabled: true,
            defaultVersionId: 1,
            versions: 1,
            role: roleArn(n.managedRole),
            hook: hookArn(n.hookFunction),
            tags: { ...owner(n.mainStack, 'SettingsA1B2'), [HOOK_TAG]: hookArn(n.hookFunction) },
          });
          this.grants.set(n.hookFunction, [`${ACCOUNT} ${arn('iot', `provisioningtemplate/${n.template}`)}`]);
          this.stacks.set(n.mainStack, 'CREATE_COMPLETE');
        }
        const t = this.templates.get(n.template)!;
        if (phase === 'body') t.defaultVersionId = ++t.versions;
        if (phase === 'rename') Object.assign(t.tags, owner(n.mainStack, 'SettingsRenamedC3D4'));
        if (phase === 'update') {
          Object.assign(t, { description: DESCRIPTIONS.updated, hook: undefined });
          t.tags[HOOK_TAG] = '';
          this.grants.set(n.hookFunction, []);
        }
        if (phase === 'failed-update') {
          this.event(n.mainStack, 'Custom::IoTProvisioningTemplateSettings', 'UPDATE_COMPLETE');
          this.event(n.mainStack, 'Custom::VerifyAwsMadeToFail', 'CREATE_FAILED', 'made to fail by verify:aws');
          this.stacks.set(n.mainStack, 'UPDATE_ROLLBACK_COMPLETE');
          return { ok: false, tail: 'UPDATE_ROLLBACK_COMPLETE' };
        }
        this.stacks.set(n.mainStack, 'UPDATE_COMPLETE');
        return { ok: true, tail: '' };
      }
      this.stackResources(n.extStack, n.extHookFunction);
      if (props.ext === 'failed-create') {
        this.event(n.extStack, 'Custom::IoTProvisioningTemplateSettings', 'CREATE_COMPLETE');
        this.event(n.extStack, 'Custom::VerifyAwsMadeToFail', 'CREATE_FAILED', 'made to fail by verify:aws');
        this.functions.delete(n.extHookFunction);
        this.stacks.set(n.extStack, 'ROLLBACK_COMPLETE');
        return { ok: false, tail: 'ROLLBACK_COMPLETE' };
      }
      const ext = this.templates.get(n.extTemplate)!;
      Object.assign(ext, { enabled: true, description: DESCRIPTIONS.extManaged, hook: hookArn(n.extHookFunction) });
      Object.assign(ext.tags, owner(n.extStack, 'SettingsE5F6'), { [HOOK_TAG]: hookArn(n.extHookFunction) });
      this.stacks.set(n.extStack, 'CREATE_COMPLETE');
      return { ok: true, tail: '' };
    },
  };

  /** CloudFormation deletes a stack: the construct takes its hook off (ext), the stack's resources go (the handler's log group stays). */
  private deleteStack(name: string): void {
    const n = this.names;
    const ext = this.templates.get(n.extTemplate);
    if (name === n.extStack && ext && (ext.tags[OWNER_TAG] ?? '').startsWith(`${n.extStack}/`)) {
      ext.hook = undefined;
      delete ext.tags[OWNER_TAG];
      delete ext.tags[HOOK_TAG];
    }
    if (name === n.mainStack) {
      this.templates.delete(n.template);
      this.templates.delete(n.extTemplate);
      this.roles.delete(n.initialRole);
      this.roles.delete(n.managedRole);
    }
    for (const fn of [...this.functions])
      if (fn.startsWith(name) || fn === (name === n.mainStack ? n.hookFunction : n.extHookFunction))
        this.functions.delete(fn);
    for (const r of [...this.roles]) if (r.startsWith(`${name}-`)) this.roles.delete(r);
    this.logGroups.delete(`/aws/lambda/${name === n.mainStack ? n.hookFunction : n.extHookFunction}`);
    this.stacks.delete(name);
  }

  /** A device's MQTT connection: CreateKeysAndCertificate, and RegisterThing through the hook's rule. */
  public readonly connect: MqttConnect = async (credentials) => {
    this.touch(`mqtt connect ${credentials.clientId}`);
    const listeners: ((topic: string, payload: Buffer) => void)[] = [];
    const emit = (topic: string, body: unknown) =>
      setImmediate(() => listeners.forEach((l) => l(topic, Buffer.from(JSON.stringify(body)))));
    const connection: MqttConnection = {
      subscribe: async () => undefined,
      onMessage: (l) => listeners.push(l),
      end: async () => undefined,
      publish: async (topic, payload) => {
        const body = JSON.parse(payload);
        if (topic === '$aws/certificates/create/json') {
          const certificateId = `devicecert${this.nextCert++}`;
          this.certificates.add(certificateId);
          emit(`${topic}/accepted`, {
            certificateId,
            certificatePem: 'pem',
            privateKey: 'key',
            certificateOwnershipToken: certificateId,
          });
          return;
        }
        const serial: string = body.parameters.SerialNumber;
        this.hookLog.push(
          JSON.stringify({ message: 'pre-provisioning hook', serial, allow: !serial.startsWith('refuse-') }),
        );
        if (serial.startsWith('refuse-')) {
          emit(`${topic}/rejected`, {
            statusCode: 403,
            errorCode: 'AccessDenied',
            errorMessage: 'Pre-provisioning hook rejected',
          });
          return;
        }
        const thingName = `${this.prefix}-${serial}`;
        this.things.set(thingName, {
          attributes: { verifyRun: this.prefix, approvedBy: 'hook' },
          principals: [arn('iot', `cert/${body.certificateOwnershipToken}`)],
        });
        emit(`${topic}/accepted`, { thingName, deviceConfiguration: {} });
      },
    };
    return connection;
  };

  /** Mocks every SDK client the run uses; returns the clients and a restore function. */
  public mockSdk(): { clients: Clients; restore: () => void } {
    const mocks = [
      mockClient(cfn.CloudFormationClient),
      mockClient(iot.IoTClient),
      mockClient(iam.IAMClient),
      mockClient(lambda.LambdaClient),
      mockClient(logs.CloudWatchLogsClient),
      mockClient(sts.STSClient),
    ];
    const [cfnMock, iotMock, iamMock, lambdaMock, logsMock, stsMock] = mocks;
    const on = (mock: any, command: any, fn: (input: any) => any) =>
      mock.on(command).callsFake(async (input: any) => {
        this.touch(command.name);
        return fn(input);
      });
    installHandlers(this, on, { cfnMock, iotMock, iamMock, lambdaMock, logsMock, stsMock });
    return {
      clients: {
        cfn: new cfn.CloudFormationClient({ region: REGION }),
        iot: new iot.IoTClient({ region: REGION }),
        iam: new iam.IAMClient({ region: REGION }),
        lambda: new lambda.LambdaClient({ region: REGION }),
        logs: new logs.CloudWatchLogsClient({ region: REGION }),
        sts: new sts.STSClient({ region: REGION }),
      },
      restore: () => mocks.forEach((m) => m.restore()),
    };
  }

  /** Used by fake-aws-handlers.ts. */
  public deleteStackNow(name: string): void {
    this.deleteStack(name);
  }
}
