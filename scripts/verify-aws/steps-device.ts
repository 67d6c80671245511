/**
 * The hook really runs: a device registers through fleet provisioning by
 * claim (a claim certificate and its IoT policy, made for the run), the hook
 * allows it and its answer is honoured; a second device is refused by the
 * hook. Both invocations are then found in the hook's log.
 */
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  AttachPolicyCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  DescribeEndpointCommand,
  DescribeThingCommand,
} from '@aws-sdk/client-iot';
import { Check, RunContext, Step, arns, check } from './context';
import { MqttConnection, Registration, claimPolicyDocument, registerDevice } from './device';
import { ALLOWED_SERIAL, REFUSED_SERIAL, thingName } from './names';

/** Connects as a device with the claim certificate; retried while the new certificate and policy propagate. */
async function connectWithClaim(
  ctx: RunContext,
  endpoint: string,
  certificatePem: string,
  privateKey: string,
): Promise<MqttConnection> {
  let last: unknown;
  for (let attempt = 1; attempt <= 6; attempt++) {
    try {
      return await ctx.connect({
        endpoint,
        clientId: `${ctx.names.clientIdPrefix}-${attempt}`,
        certificatePem,
        privateKey,
      });
    } catch (e) {
      last = e;
      ctx.print(`MQTT connect attempt ${attempt} failed: ${(e as Error).message}`);
      await ctx.wait.sleep(5_000);
    }
  }
  throw new Error(`could not connect to ${endpoint} with the claim certificate: ${(last as Error).message}`);
}

/** The hook's log lines for `serial` (polled: logs arrive within seconds to a minute). */
async function hookLogged(ctx: RunContext, serial: string): Promise<string[]> {
  const logGroupName = `/aws/lambda/${ctx.names.hookFunction}`;
  for (let attempt = 1; ; attempt++) {
    const out = await ctx.clients.logs.send(new FilterLogEventsCommand({ logGroupName, filterPattern: `"${serial}"` }));
    const lines = (out.events ?? [])
      .map((e) => (e.message ?? '').trim())
      .filter((m) => m.includes('pre-provisioning hook'));
    if (lines.length > 0 || attempt >= 12) return lines;
    await ctx.wait.sleep(ctx.wait.pollMs);
  }
}

function registrationDetail(r: Registration): string {
  return r.accepted ? `accepted: thing ${r.thingName}` : `rejected: ${r.error}`;
}

export const provisionStep: Step = {
  name: 'hook-runs',
  title: 'register two devices over MQTT by claim: the hook allows the first (its answer honoured), refuses the second',
  async run(ctx) {
    const { iot } = ctx.clients;
    const a = arns(ctx);
    const endpoint =
      (await iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }))).endpointAddress ?? '';
    const claim = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    const claimId = claim.certificateId ?? '';
    ctx.ledger.certificate(claimId, claim.certificateArn ?? a.certificate(claimId));
    ctx.ledger.policy(ctx.names.claimPolicy);
    await iot.send(
      new CreatePolicyCommand({
        policyName: ctx.names.claimPolicy,
        policyDocument: claimPolicyDocument(
          ctx.partition,
          ctx.region,
          ctx.account,
          ctx.names.clientIdPrefix,
          ctx.names.template,
        ),
      }),
    );
    await iot.send(new AttachPolicyCommand({ policyName: ctx.names.claimPolicy, target: claim.certificateArn }));
    const connection = await connectWithClaim(
      ctx,
      endpoint,
      claim.certificatePem ?? '',
      claim.keyPair?.PrivateKey ?? '',
    );
    const checks: Check[] = [];
    try {
      const created = (id: string): void => ctx.ledger.certificate(id, a.certificate(id));
      const allowedThing = thingName(ctx.names.prefix, ALLOWED_SERIAL);
      ctx.ledger.thing(allowedThing);
      const allowed = await registerDevice(connection, ctx.names.template, ALLOWED_SERIAL, created);
      checks.push(
        check('hook-runs.allowed', allowed.accepted && allowed.thingName === allowedThing, registrationDetail(allowed)),
      );
      if (allowed.accepted) {
        const thing = await iot.send(new DescribeThingCommand({ thingName: allowedThing }));
        const approvedBy = thing.attributes?.approvedBy;
        checks.push(
          check(
            'hook-runs.answer-honoured',
            approvedBy === 'hook',
            `thing attribute approvedBy=${approvedBy} (the hook's parameterOverrides say "hook")`,
          ),
        );
      } else {
        checks.push(check('hook-runs.answer-honoured', false, 'no thing was registered'));
      }
      ctx.ledger.thing(thingName(ctx.names.prefix, REFUSED_SERIAL));
      const refused = await registerDevice(connection, ctx.names.template, REFUSED_SERIAL, created);
      checks.push(check('hook-runs.refused', !refused.accepted, registrationDetail(refused)));
    } finally {
      await connection.end();
    }
    const logged = [...(await hookLogged(ctx, ALLOWED_SERIAL)), ...(await hookLogged(ctx, REFUSED_SERIAL))];
    checks.push(
      check(
        'hook-runs.invoked',
        logged.some((l) => l.includes(ALLOWED_SERIAL)) && logged.some((l) => l.includes(REFUSED_SERIAL)),
        `${logged.length} invocation(s) of ${ctx.names.hookFunction} logged for the two devices (by AWS IoT, under the invoke permission's SourceAccount/SourceArn conditions)`,
      ),
    );
    return checks;
  },
};
