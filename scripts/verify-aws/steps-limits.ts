/**
 * What the handler met of AWS IoT's rate limits over the run: its log lines
 * (lambda/retry.ts logs each retry with the error's name; lambda/aws.ts each
 * write). Reported, not judged: an account under load throttles more.
 */
import { DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { RunContext, Step, info } from './context';

/**
 * The handler's own JSON line (`{"message": ..., ...}`, lambda/context.ts) in
 * a log event, however Lambda wrapped it: with the JSON log format, inside
 * the `message` of Lambda's record (as a string or as an object); with the
 * text format, after the timestamp, request id and level.
 */
export function handlerLine(raw: string): Record<string, unknown> | undefined {
  const parse = (text: string): Record<string, unknown> | undefined => {
    const at = text.indexOf('{');
    if (at < 0) return undefined;
    try {
      const value: unknown = JSON.parse(text.slice(at));
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const outer = parse(raw);
  const inner = outer?.message;
  if (typeof inner === 'string' && inner.trim().startsWith('{')) return parse(inner);
  if (typeof inner === 'object' && inner !== null) return inner as Record<string, unknown>;
  return outer;
}

/** The handler's lines whose `message` is `message`. */
async function messages(ctx: RunContext, logGroupName: string, message: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ctx.clients.logs.send(
      new FilterLogEventsCommand({ logGroupName, filterPattern: `"${message}"`, nextToken }),
    );
    for (const e of page.events ?? []) {
      const line = handlerLine(e.message ?? '');
      if (line?.message === message) out.push(line);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** The log groups of the construct's handler in the run's stacks (retained by the construct, swept by the cleanup). */
async function handlerLogGroups(ctx: RunContext): Promise<string[]> {
  const groups = await ctx.clients.logs.send(
    new DescribeLogGroupsCommand({ logGroupNamePrefix: `${ctx.names.prefix}-` }),
  );
  return (groups.logGroups ?? [])
    .map((g) => g.logGroupName ?? '')
    .filter((n) => n.includes('ProvisioningTemplateSettings'));
}

/** The handler's last log lines, printed after a failed check so that a report carries them (the cleanup deletes them). */
export async function printHandlerLog(ctx: RunContext, lines = 40): Promise<void> {
  for (const group of await handlerLogGroups(ctx)) {
    const out = await ctx.clients.logs.send(new FilterLogEventsCommand({ logGroupName: group }));
    const messages = (out.events ?? []).map((e) => (e.message ?? '').trim()).slice(-lines);
    ctx.print(`handler log ${group} (last ${messages.length} lines):`);
    for (const m of messages) ctx.print(`  ${m}`);
  }
}

export const limitsStep: Step = {
  name: 'limits',
  title: "read the handler's logs: its IoT writes, and every retry (throttling or otherwise)",
  async run(ctx) {
    const handlerGroups = await handlerLogGroups(ctx);
    let writes = 0;
    const retries: Record<string, number> = {};
    for (const group of handlerGroups) {
      writes += (await messages(ctx, group, 'UpdateProvisioningTemplate')).length;
      for (const r of await messages(ctx, group, 'retrying')) {
        const key = `${String(r.operation)}: ${String(r.error)}`;
        retries[key] = (retries[key] ?? 0) + 1;
      }
    }
    const throttled = Object.entries(retries)
      .filter(([k]) => /Throttl|TooManyRequests/.test(k))
      .reduce((n, [, v]) => n + v, 0);
    const list = Object.entries(retries).map(([k, v]) => `${k} x${v}`);
    return [
      info(
        'limits.logs',
        `${handlerGroups.length} handler log group(s), ${writes} UpdateProvisioningTemplate call(s) logged`,
      ),
      info('limits.throttling', `${throttled} throttled attempt(s) retried`),
      info('limits.retries', list.length ? `retries: ${list.join('; ')}` : 'no retries'),
    ];
  },
};
