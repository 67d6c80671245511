/**
 * The steps that fail on purpose and the delete: an update that starts
 * managing the default version and is rolled back, a first deployment of
 * the ext stack that is rolled back, and the ext stack deployed and deleted.
 */
import { CreateProvisioningTemplateVersionCommand } from '@aws-sdk/client-iot';
import { RunContext, Step, arns, check, deployOrThrow, deployPhase } from './context';
import { deleteStack, failedAfterSettings, seenEvents, stackEvents, stackStatus } from './stacks';
import { OWNER_TAG, describe, differences, ownershipTags, readTemplate } from './template-state';
import { templateBody } from './app';

/** Deploys a phase that must fail, and checks that it failed after the settings were written, and how it ended. */
async function deployToFail(
  ctx: RunContext,
  id: string,
  stackId: 'Main' | 'Ext',
  phase: { main?: string; ext?: string; versionId?: number },
  expectedStatus: string,
) {
  const stackName = stackId === 'Main' ? ctx.names.mainStack : ctx.names.extStack;
  const seen = await seenEvents(ctx.clients.cfn, stackName);
  const result = await deployPhase(ctx, stackId, phase);
  const status = await stackStatus(ctx.clients.cfn, stackName);
  const { settingsFirst, reason } = failedAfterSettings(await stackEvents(ctx.clients.cfn, stackName), seen);
  return check(
    id,
    !result.ok && settingsFirst && status === expectedStatus,
    `deploy ${result.ok ? 'succeeded (expected to fail)' : 'failed'}; settings written before the failure: ${settingsFirst}; ` +
      `failure: ${reason}; stack ${status ?? 'gone'} (expected ${expectedStatus})`,
  );
}

export const failedUpdateStep: Step = {
  name: 'failed-update',
  title: 'an update that starts managing the default version, made to fail after the settings: rolled back',
  async run(ctx) {
    // A version the template does not use yet, so managing it changes something.
    const created = await ctx.clients.iot.send(
      new CreateProvisioningTemplateVersionCommand({
        templateName: ctx.names.template,
        templateBody: templateBody(ctx.names.prefix, '3'),
        setAsDefault: false,
      }),
    );
    const before = await readTemplate(ctx.clients.iot, ctx.names.template);
    const failed = await deployToFail(
      ctx,
      'failed-update.failed',
      'Main',
      { main: 'failed-update', versionId: created.versionId },
      'UPDATE_ROLLBACK_COMPLETE',
    );
    const after = await readTemplate(ctx.clients.iot, ctx.names.template);
    const changed = differences(before, after);
    return [
      failed,
      check(
        'failed-update.rollback',
        changed.length === 0 && after?.defaultVersionId !== created.versionId,
        `default version ${before?.defaultVersionId} before, ${after?.defaultVersionId} after (the update asked for ${created.versionId}); ` +
          (changed.length ? `changed: ${changed.join('; ')}` : 'nothing else changed'),
      ),
    ];
  },
};

export const failedCreateStep: Step = {
  name: 'failed-create',
  title: 'a first deployment of the ext stack, made to fail after the settings: the template exactly as before',
  async run(ctx) {
    const before = await readTemplate(ctx.clients.iot, ctx.names.extTemplate);
    const failed = await deployToFail(
      ctx,
      'failed-create.failed',
      'Ext',
      { ext: 'failed-create' },
      'ROLLBACK_COMPLETE',
    );
    const after = await readTemplate(ctx.clients.iot, ctx.names.extTemplate);
    const changed = differences(before, after);
    ctx.print(await deleteStack(ctx.clients.cfn, ctx.names.extStack, ctx.wait));
    return [
      failed,
      check(
        'failed-create.rollback',
        !!before && changed.length === 0,
        changed.length ? `changed: ${changed.join('; ')}` : `as before: ${describe(after)}`,
      ),
    ];
  },
};

export const deleteStep: Step = {
  name: 'delete',
  title: 'deploy the ext stack (settings and a hook on the external template), then delete the stack',
  async run(ctx) {
    await deployOrThrow(ctx, 'Ext', { ext: 'create' });
    const set = await readTemplate(ctx.clients.iot, ctx.names.extTemplate);
    const hook = arns(ctx).extHook;
    const created = check(
      'delete.created',
      set?.hook === hook && (set?.tags[OWNER_TAG] ?? '').startsWith(`${ctx.names.extStack}/`),
      describe(set),
    );
    ctx.print(await deleteStack(ctx.clients.cfn, ctx.names.extStack, ctx.wait));
    const t = await readTemplate(ctx.clients.iot, ctx.names.extTemplate);
    const tags = t ? ownershipTags(t.tags) : {};
    return [
      created,
      check('delete.hook', !!t && t.hook === undefined, `hook after the delete: ${t?.hook ?? 'none'}`),
      check('delete.tags', Object.keys(tags).length === 0 && !!t, `ownership tags left: ${JSON.stringify(tags)}`),
      check('delete.kept', !!t, t ? `template kept: ${describe(t)}` : 'the template is gone'),
    ];
  },
};
