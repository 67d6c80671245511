/**
 * Handler of Custom::IoTProvisioningTemplateSettings: the entry point, and
 * the answer to CloudFormation.
 *
 * One function that answers CloudFormation itself (no Provider framework):
 * it runs the event (lambda/settings.ts: read, decide, act)
 * within a deadline, and always sends an answer before its own timeout. See
 * docs/design.md for why.
 */
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse, Context } from 'aws-lambda';
import { CREATE_FAILED_MARKER, DriftCheckEvent } from '../lib/handler-contract';
import { TIMING } from '../lib/timing';
import { checkDrift } from './drift';
import { configFromEnv, HandlerConfig, log, phase } from './context';
import { backoff, errorMessage, reasonFor, SettingsError, sleep } from './retry';
import { onEvent, Outcome, properties } from './settings';

/** CloudFormation's answer is at most 4 KB; keep the reason well inside. */
const MAX_REASON = 2_000;

export async function handler(
  event: CloudFormationCustomResourceEvent | DriftCheckEvent,
  context: Context,
): Promise<void> {
  const config = configFromEnv();
  const lambdaDeadline = Date.now() + context.getRemainingTimeInMillis();
  if ('driftCheck' in event) {
    const ctx = phase(config, lambdaDeadline - 1_000);
    return checkDrift(ctx, event.driftCheck).finally(() => ctx.dispose());
  }
  const { ResponseURL: _hidden, ...loggable } = event;
  log('event', loggable);

  const templateName = properties(event).TemplateName;
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  let response: CloudFormationCustomResourceResponse;
  const ctx = phase(config, lambdaDeadline - config.responseReserveMs);
  try {
    // Loading the SDK or configuring its client can fail too, and must still answer.
    const outcome: Outcome = await onEvent(ctx, event);
    response = { ...base, Status: 'SUCCESS', PhysicalResourceId: outcome.physicalResourceId, Data: outcome.data };
  } catch (e) {
    const reason = reasonFor(e, templateName);
    log('failed', { reason });
    response = {
      ...base,
      Status: 'FAILED',
      Reason: reason.slice(0, MAX_REASON),
      PhysicalResourceId: failedPhysicalId(event, templateName, e),
    };
  } finally {
    ctx.dispose();
  }
  await respond(event, response, config, lambdaDeadline - 1_000);
}

/**
 * A failed Create that certainly changed nothing gets a marker id, so the
 * Delete of the rollback does nothing. If the write's outcome is unknown,
 * the template name is kept: the Delete then removes our hook if it landed.
 * Update and Delete keep the id they had, so CloudFormation never sees a new one.
 */
function failedPhysicalId(event: CloudFormationCustomResourceEvent, templateName: string, e: unknown): string {
  if (event.RequestType !== 'Create') {
    return event.PhysicalResourceId;
  }
  const changedNothing = !(e instanceof SettingsError) || e.changedNothing;
  return changedNothing ? CREATE_FAILED_MARKER : templateName;
}

/** Send the answer to CloudFormation's pre-signed URL, retrying until `deadline`. */
async function respond(
  event: CloudFormationCustomResourceEvent,
  response: CloudFormationCustomResourceResponse,
  config: HandlerConfig,
  deadline: number,
): Promise<void> {
  const body = JSON.stringify(response);
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    try {
      const res = await fetch(event.ResponseURL, {
        method: 'PUT',
        body,
        headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(Math.max(1_000, Math.min(TIMING.requestTimeoutMs, remaining))),
      });
      if (res.ok) {
        log('answered CloudFormation', { status: response.Status, attempt });
        return;
      }
      throw new Error(`HTTP ${res.status}`);
    } catch (e) {
      const delay = backoff(attempt, config);
      if (attempt >= config.responseAttempts || Date.now() + delay >= deadline) {
        log('could not answer CloudFormation', { attempt, error: errorMessage(e) });
        return;
      }
      log('answer to CloudFormation failed; retrying', { attempt, error: errorMessage(e), delayMs: delay });
      await sleep(delay);
    }
  }
}
