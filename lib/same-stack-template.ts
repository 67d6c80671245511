/**
 * A CfnProvisioningTemplate of the same stack whose `ref` is a construct's
 * `templateName`: found here, checked against the construct's props, and
 * followed through `TemplateRevision`.
 *
 * CloudFormation's handler for AWS::IoT::ProvisioningTemplate, on every
 * update of the template, calls UpdateProvisioningTemplate with the
 * template's own description, enabled and role (leaving out those it does not
 * have), and a changed body becomes a new default version (docs/design.md,
 * "A template created in the same stack"). So the construct's custom resource
 * must see every change of the template to apply its settings again after
 * it: what synth sees goes into a digest, and what only CloudFormation sees
 * (parameters, dynamic references, other resources' attributes) goes in as
 * it is, for CloudFormation to resolve in the custom resource's properties as
 * well.
 *
 * Internal: not exported from the package's entry point.
 */
import { createHash } from 'crypto';
import { CfnParameter, CfnResource, Fn, Lazy, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import type * as iot from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';

/** Warning: a setting given to both the construct and its same-stack template, with different values. */
export const SETTING_DIFFERS_WARNING_ID = 'cdk-iot-provisioning-template-settings:templateSettingDiffers';

/** Warning: the same-stack template is created enabled, before the construct sets the hook. */
export const ENABLED_BEFORE_HOOK_WARNING_ID = 'cdk-iot-provisioning-template-settings:templateEnabledBeforeHook';

/** Warning: a value of the same-stack template that changes at deploy time and cannot be followed. */
export const NOT_FOLLOWED_WARNING_ID = 'cdk-iot-provisioning-template-settings:templateChangeNotFollowed';

/**
 * The CfnProvisioningTemplate of the same stack whose `ref` `templateName` is,
 * if it is one. A template of another stack is updated in that stack's own
 * deployment, which this one cannot follow.
 */
export function sameStackTemplate(scope: Construct, templateName: string): iot.CfnProvisioningTemplate | undefined {
  const template = Tokenization.reverseString(templateName)
    .tokens.map((token) => (Reference.isReference(token) ? token.target : undefined))
    .find(
      (target): target is iot.CfnProvisioningTemplate =>
        CfnResource.isCfnResource(target) && target.cfnResourceType === 'AWS::IoT::ProvisioningTemplate',
    );
  return template && Stack.of(template) === Stack.of(scope) ? template : undefined;
}

/** The template's properties as CloudFormation gets them (property overrides excepted). */
function rendered(template: iot.CfnProvisioningTemplate): Record<string, unknown> {
  return Stack.of(template).resolve({
    templateBody: template.templateBody,
    templateType: template.templateType,
    enabled: template.enabled,
    description: template.description,
    provisioningRoleArn: template.provisioningRoleArn,
    preProvisioningHook: template.preProvisioningHook,
    tags: template.tags.renderTags() as unknown,
  }) as Record<string, unknown>;
}

/**
 * `TemplateRevision`: a digest of what synth sees of `template`, joined with
 * every value of it that only CloudFormation resolves (its role's ARN always,
 * as before), so that a change of either updates the custom resource right
 * after the template (it depends on the template through the ref).
 */
export function templateRevision(template: iot.CfnProvisioningTemplate): string {
  return Lazy.string({
    produce: () => {
      const props = rendered(template);
      const digest = createHash('sha256').update(JSON.stringify(props)).digest('hex').slice(0, 16);
      const stack = Stack.of(template);
      const role = stack.resolve(template.provisioningRoleArn) as unknown;
      const values = new Map([role, ...deployTimeValues(stack, props).followed].map((v) => [JSON.stringify(v), v]));
      // Fn.join wants tokens: each resolved value goes back in as one.
      return Fn.join('|', [
        digest,
        ...[...values.values()].map((v) => (typeof v === 'string' ? v : Token.asString(v))),
      ]);
    },
  });
}

/** What CloudFormation resolves at deploy time in `value`: followed, and not (with why). */
interface DeployTimeValues {
  readonly followed: unknown[];
  readonly notFollowed: string[];
}

const DYNAMIC_REFERENCE = /\{\{resolve:([a-z-]+):[^}]*\}\}/g;

/**
 * Walk a resolved CloudFormation value: literal text is in the digest; every
 * intrinsic and dynamic reference in it is collected once, ready for an
 * `Fn::Join` (a list parameter only ever appears inside a join of its
 * own, which goes in whole). Dynamic references to secrets (which
 * CloudFormation does not resolve in a custom resource) and NoEcho parameters
 * (which the handler's log of the event would show) are not followed.
 */
function deployTimeValues(stack: Stack, value: unknown): DeployTimeValues {
  const followed = new Map<string, unknown>();
  const notFollowed = new Set<string>();
  const parameters = new Map(
    stack.node
      .findAll()
      .filter((c): c is CfnParameter => c instanceof CfnParameter)
      .map((p) => [stack.resolve(p.logicalId) as string, p]),
  );
  const add = (v: unknown) => followed.set(JSON.stringify(v), v);
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const [reference, kind] of v.matchAll(DYNAMIC_REFERENCE)) {
        if (kind === 'ssm') add(reference);
        else
          notFollowed.add(
            `the dynamic reference ${reference} (CloudFormation resolves ${kind} references in no custom resource)`,
          );
      }
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      const [key, arg] = entries.length === 1 ? entries[0] : [undefined, undefined];
      if (key === 'Ref' && typeof arg === 'string') {
        const parameter = parameters.get(arg);
        if (arg.startsWith('AWS::')) return; // pseudo parameters do not change within a stack
        if (parameter?.noEcho) notFollowed.add(`the NoEcho parameter ${arg} (the handler logs its event)`);
        else add(v);
      } else if (key === 'Fn::Join' && Array.isArray(arg) && Array.isArray(arg[1])) {
        walk(arg[1]);
      } else if (key?.startsWith('Fn::')) {
        add(v);
      } else {
        entries.forEach(([, child]) => walk(child));
      }
    }
  };
  walk(value);
  return { followed: [...followed.values()], notFollowed: [...notFollowed] };
}

/** The settings a construct gives, as the pairing checks compare them. */
export interface PairedSettings {
  readonly description?: string;
  readonly enabled?: boolean;
  readonly provisioningRoleArn?: string;
  readonly hook?: { readonly targetArn: string; readonly payloadVersion: string };
}

/** What pairingProblems found. */
export interface PairingProblems {
  readonly errors: string[];
  readonly warnings: { readonly id: string; readonly message: string }[];
}

/**
 * The construct's settings against its same-stack template's: a hook on a
 * template that is not FLEET_PROVISIONING (an error: AWS IoT refuses it), a
 * setting both give with different values, a template created enabled before
 * the hook is set, and deploy-time values that cannot be followed.
 */
export function pairingProblems(template: iot.CfnProvisioningTemplate, settings: PairedSettings): PairingProblems {
  const stack = Stack.of(template);
  const path = template.node.path;
  const errors: string[] = [];
  const warnings: { id: string; message: string }[] = [];
  const type = template.templateType;
  if (settings.hook && !Token.isUnresolved(type) && type !== 'FLEET_PROVISIONING') {
    errors.push(
      `preProvisioningHook must be left out for templateName ${path}, whose templateType is ${JSON.stringify(type)}: ` +
        'AWS IoT accepts a pre-provisioning hook on FLEET_PROVISIONING templates only, and would refuse it at deploy time. ' +
        'Remove preProvisioningHook, or make the template a FLEET_PROVISIONING one.',
    );
  }
  // The L1 keeps the struct as given (camelCase); a token stays one.
  const hook = stack.resolve(template.preProvisioningHook) as
    { targetArn?: unknown; payloadVersion?: unknown } | undefined;
  const pairs: [string, unknown, unknown][] = [
    ['description', settings.description, template.description],
    ['enabled', settings.enabled, template.enabled],
    ['provisioningRole', settings.provisioningRoleArn, template.provisioningRoleArn],
    [
      'preProvisioningHook',
      settings.hook && { targetArn: settings.hook.targetArn, payloadVersion: settings.hook.payloadVersion },
      // AWS IoT's default payload version is the construct's default too.
      hook && { targetArn: hook.targetArn, payloadVersion: hook.payloadVersion ?? settings.hook?.payloadVersion },
    ],
  ];
  for (const [prop, ours, theirs] of pairs) {
    const [a, b] = [ours, theirs].map((v) => JSON.stringify(stack.resolve(v)));
    if (ours !== undefined && theirs !== undefined && a !== b) {
      warnings.push({
        id: SETTING_DIFFERS_WARNING_ID,
        message:
          `${prop} is given both here (${a}) and on ${path} (${b}): each update of that template writes its own value ` +
          'back before this construct sets this one again. Leave description, enabled and preProvisioningHook off the ' +
          'CfnProvisioningTemplate, and give it the same role as provisioningRole (see the README, "A template of the same stack").',
      });
    }
  }
  if (settings.hook && template.enabled !== undefined && stack.resolve(template.enabled) !== false) {
    warnings.push({
      id: ENABLED_BEFORE_HOOK_WARNING_ID,
      message:
        `${path} sets enabled, and this construct sets a preProvisioningHook: CloudFormation creates the template ` +
        'enabled before this construct sets the hook, so devices could be provisioned without the hook in between. ' +
        'Leave enabled off the CfnProvisioningTemplate (it is created disabled) and set enabled: true here: the hook and ' +
        'enabled are then written in one call.',
    });
  }
  const { notFollowed } = deployTimeValues(stack, rendered(template));
  if (notFollowed.length > 0) {
    warnings.push({
      id: NOT_FOLLOWED_WARNING_ID,
      message:
        `${path} uses ${notFollowed.join(' and ')}: a change of it updates the template at deploy time, which may reset ` +
        'settings this construct manages, but cannot reach this construct, whose settings are then not applied again. ' +
        'Change something this construct sees in the same deployment, or use a plain parameter or an ssm reference.',
    });
  }
  return { errors, warnings };
}
