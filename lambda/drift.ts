/**
 * The drift check (lib/drift-check.ts): a schedule invokes the handler with
 * `{ driftCheck: stackId }`. For each template that a resource of that stack
 * owns and applied with a drift check (its applied tags, lambda/record.ts),
 * it compares what the template has with what the resource applied, in at
 * most two IoT calls. Each difference is logged; each template's count of
 * them is a metric, in CloudWatch's embedded metric format. A resource whose
 * check is `restore` writes the applied settings back, only while its stack
 * is not being deployed.
 */
import { DRIFT_METRIC, METRIC_NAMESPACE, RESOURCE_TYPE, SETTINGS, TemplateWrite } from '../lib/handler-contract';
import { describeStack, describeTemplate, listStackResources, listTags, updateTemplate } from './aws';
import { Ctx, log } from './context';
import { Applied, APPLIED_TAG, ownerId, OWNER_TAG, readPieces, templateArnFor } from './record';
import { errorMessage } from './retry';

export async function checkDrift(ctx: Ctx, stackId: string): Promise<void> {
  let failed = 0;
  for (const { ResourceType, ResourceStatus, PhysicalResourceId: name, LogicalResourceId } of await listStackResources(
    ctx,
    stackId,
  )) {
    // A resource being deleted no longer manages its template; a failed Create's id names none.
    if (ResourceType !== RESOURCE_TYPE || /^DELETE/.test(ResourceStatus!) || !name || name.includes(':')) continue;
    try {
      const tags = (await listTags(ctx, templateArnFor(stackId, name), name)) ?? {};
      const applied = readPieces<Applied>(tags, APPLIED_TAG, (a) => typeof a.drift === 'string');
      // Only what this resource still owns, and applied with a drift check.
      if (tags[OWNER_TAG] !== ownerId({ StackId: stackId, LogicalResourceId: LogicalResourceId! }) || !applied)
        continue;
      const template = await describeTemplate(ctx, name);
      const drifted = SETTINGS.filter(({ field, read }) => {
        const want = applied[field];
        const live = template && read(template);
        const differs = want !== undefined && comparable(want) !== comparable(live);
        if (differs) log('drift', { templateName: name, setting: field, applied: want, live });
        return differs;
      });
      // Straight to stdout: Lambda's JSON log format wraps what console.log writes, and CloudWatch would not read it as a metric.
      const metrics = [
        { Namespace: METRIC_NAMESPACE, Dimensions: [['TemplateName']], Metrics: [{ Name: DRIFT_METRIC }] },
      ];
      const line = { _aws: { Timestamp: Date.now(), CloudWatchMetrics: metrics }, TemplateName: name };
      process.stdout.write(`${JSON.stringify({ ...line, [DRIFT_METRIC]: drifted.length })}\n`);
      if (applied.drift === 'restore' && drifted.length > 0 && template) {
        // Asked just before the write: a deployment may have started since the last one.
        const { status } = await describeStack(ctx, stackId, name);
        // Only the settings that differ, on this template: never another name or field a tag could carry.
        const write: TemplateWrite = { templateName: name, enabled: template.enabled };
        for (const { field } of drifted) Object.assign(write, { [field]: applied[field] });
        if (/_COMPLETE$/.test(status)) await updateTemplate(ctx, write);
        else log('not restored: stack deploying', { templateName: name, status });
      }
    } catch (e) {
      failed++;
      log('not checked', { templateName: name, error: errorMessage(e) });
    }
  }
  if (failed > 0) throw new Error(`${failed} template(s) not checked`);
}

/** A value as the check compares it: a hook by its fields in any order; nothing as an empty description. */
function comparable(value: unknown): string {
  return JSON.stringify(value && typeof value === 'object' ? Object.entries(value).sort() : (value ?? ''));
}
