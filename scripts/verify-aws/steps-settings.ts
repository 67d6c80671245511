/**
 * The steps that deploy the main stack forward: create, a body change of the
 * same-stack template, a new construct id, an update that drops the hook.
 */
import { GetPolicyCommand } from '@aws-sdk/client-lambda';
import { DESCRIPTIONS } from './app';
import { Check, RunContext, Step, arns, check, deployOrThrow } from './context';
import { HOOK_TAG, OWNER_TAG, TemplateState, describe, ownershipTags, readTemplate } from './template-state';

/** The statements of the function's resource policy that let AWS IoT invoke it, as "account templateArn". */
export async function invokeGrants(ctx: RunContext, functionName: string): Promise<string[]> {
  let policy: string | undefined;
  try {
    policy = (await ctx.clients.lambda.send(new GetPolicyCommand({ FunctionName: functionName }))).Policy;
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return [];
    throw e;
  }
  interface Statement {
    Effect?: string;
    Principal?: { Service?: string };
    Condition?: { StringEquals?: Record<string, string>; ArnLike?: Record<string, string> };
  }
  const statements = (JSON.parse(policy ?? '{}') as { Statement?: Statement[] }).Statement ?? [];
  return statements
    .filter((s) => s.Effect === 'Allow' && s.Principal?.Service === 'iot.amazonaws.com')
    .map((s) => `${s.Condition?.StringEquals?.['AWS:SourceAccount']} ${s.Condition?.ArnLike?.['AWS:SourceArn']}`);
}

/** Reads the main template, and throws when it does not exist. */
async function mainTemplate(ctx: RunContext): Promise<TemplateState> {
  const state = await readTemplate(ctx.clients.iot, ctx.names.template);
  if (!state) throw new Error(`template ${ctx.names.template} does not exist`);
  return state;
}

/** The settings the construct was asked for, with or without the hook. */
function settingsCheck(ctx: RunContext, id: string, t: TemplateState, description: string, hook: boolean): Check {
  const a = arns(ctx);
  const ok =
    t.enabled === true &&
    t.description === description &&
    t.provisioningRoleArn === a.role(ctx.names.managedRole) &&
    (hook ? t.hook === a.hook : t.hook === undefined);
  return check(id, ok, describe(t));
}

function permissionCheck(ctx: RunContext, id: string, grants: string[], expected: boolean): Check {
  const wanted = `${ctx.account} ${arns(ctx).template(ctx.names.template)}`;
  const has = grants.includes(wanted);
  return check(
    id,
    has === expected,
    `${expected ? 'expected' : 'not expected'}: iot.amazonaws.com may invoke ${ctx.names.hookFunction} with SourceAccount ${ctx.account}, SourceArn the template; found ${grants.length ? grants.join('; ') : 'no such statement'}`,
  );
}

/** The owner tag's logical id ("stack/logicalId/uuid8"). */
function ownerLogicalId(t: TemplateState): string {
  return (t.tags[OWNER_TAG] ?? '').split('/')[1] ?? '';
}

export const createStep: Step = {
  name: 'create',
  title:
    'deploy the main stack: a template created disabled, the settings enable it and set description, role and hook',
  async run(ctx) {
    await deployOrThrow(ctx, 'Main', { main: 'create' });
    const t = await mainTemplate(ctx);
    const grants = await invokeGrants(ctx, ctx.names.hookFunction);
    const owner = t.tags[OWNER_TAG] ?? '';
    return [
      settingsCheck(ctx, 'create.settings', t, DESCRIPTIONS.managed, true),
      permissionCheck(ctx, 'create.permission', grants, true),
      check(
        'create.tags',
        owner.startsWith(`${ctx.names.mainStack}/Settings`) && t.tags[HOOK_TAG] === arns(ctx).hook,
        `owner tags ${JSON.stringify(ownershipTags(t.tags))}`,
      ),
    ];
  },
};

export const bodyStep: Step = {
  name: 'cfn-update',
  title:
    "change the same-stack CfnProvisioningTemplate's body: does CloudFormation's update keep the construct's tags?",
  async run(ctx) {
    const before = await mainTemplate(ctx);
    await deployOrThrow(ctx, 'Main', { main: 'body' });
    const t = await mainTemplate(ctx);
    const kept =
      before.tags[OWNER_TAG] !== undefined &&
      t.tags[OWNER_TAG] === before.tags[OWNER_TAG] &&
      t.tags[HOOK_TAG] === before.tags[HOOK_TAG];
    return [
      check(
        'cfn-update.tags',
        kept,
        `owner tags after CloudFormation updated the template: ${JSON.stringify(ownershipTags(t.tags))}`,
      ),
      settingsCheck(ctx, 'cfn-update.settings', t, DESCRIPTIONS.managed, true),
    ];
  },
};

export const renameStep: Step = {
  name: 'rename',
  title: 'give the construct a new id for the same template (CloudFormation creates the new resource, deletes the old)',
  async run(ctx) {
    await deployOrThrow(ctx, 'Main', { main: 'rename' });
    const t = await mainTemplate(ctx);
    const grants = await invokeGrants(ctx, ctx.names.hookFunction);
    return [
      check('rename.hook', t.hook === arns(ctx).hook, `hook after the old resource was deleted: ${t.hook ?? 'none'}`),
      check(
        'rename.owner',
        ownerLogicalId(t).startsWith('SettingsRenamed'),
        `owner tag ${t.tags[OWNER_TAG] ?? 'none'}`,
      ),
      permissionCheck(ctx, 'rename.permission', grants, true),
    ];
  },
};

export const updateStep: Step = {
  name: 'update',
  title: 'change the description and drop the hook from the props',
  async run(ctx) {
    await deployOrThrow(ctx, 'Main', { main: 'update' });
    const t = await mainTemplate(ctx);
    const grants = await invokeGrants(ctx, ctx.names.hookFunction);
    return [
      check('update.setting', t.description === DESCRIPTIONS.updated, `description ${JSON.stringify(t.description)}`),
      check(
        'update.hook',
        t.hook === undefined && (t.tags[HOOK_TAG] ?? '') === '',
        `hook ${t.hook ?? 'none'}, hook tag ${JSON.stringify(t.tags[HOOK_TAG])}`,
      ),
      permissionCheck(ctx, 'update.permission', grants, false),
    ];
  },
};
