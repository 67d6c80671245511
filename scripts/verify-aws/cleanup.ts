/**
 * Everything a run created goes, even after a failed check or an interrupt:
 * first what the ledger recorded (things, certificates, the claim policy,
 * none of which CloudFormation knows), then the stacks, then a sweep of
 * whatever still carries the prefix (templates, functions, roles, log
 * groups, policies, things, stacks). `--cleanup` runs the sweep alone.
 * Only names that start with a run prefix are ever deleted.
 */
import { ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteLogGroupCommand, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import {
  DeleteCertificateCommand,
  DeletePolicyCommand,
  DeleteProvisioningTemplateCommand,
  DeleteThingCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  ListAttachedPoliciesCommand,
  ListPoliciesCommand,
  ListProvisioningTemplatesCommand,
  ListTargetsForPolicyCommand,
  ListThingPrincipalsCommand,
  ListThingsCommand,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { DeleteFunctionCommand, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import type { Clients } from './clients';
import type { LedgerData } from './ledger';
import { FAMILY, RUN_ATTRIBUTE } from './names';
import { Waiting, deleteStack } from './stacks';

const notFound = (e: unknown): boolean =>
  /NotFound|NoSuchEntity|does not exist/.test(`${(e as Error).name} ${(e as Error).message}`);

/** Runs `action`, tolerating a resource that is already gone. */
async function gone(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (!notFound(e)) throw e;
  }
}

/** Every page of a list call, flattened. */
async function all<T>(page: (token?: string) => Promise<{ items?: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const p = await page(token);
    out.push(...(p.items ?? []));
    token = p.next;
  } while (token);
  return out;
}

/** Deletes a certificate: its policies and things detached, made inactive, deleted. */
export async function deleteCertificate(c: Clients, certificateId: string, certificateArn: string): Promise<void> {
  const policies = await all((marker) =>
    c.iot
      .send(new ListAttachedPoliciesCommand({ target: certificateArn, marker }))
      .then((r) => ({ items: r.policies, next: r.nextMarker })),
  ).catch((e: unknown) => (notFound(e) ? [] : Promise.reject(e)));
  for (const p of policies)
    await gone(() => c.iot.send(new DetachPolicyCommand({ policyName: p.policyName, target: certificateArn })));
  await gone(() => c.iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'INACTIVE' })));
  await gone(() => c.iot.send(new DeleteCertificateCommand({ certificateId, forceDelete: true })));
}

/** Deletes a thing and the certificates attached to it. */
export async function deleteThing(c: Clients, thingName: string): Promise<void> {
  const principals = await all((nextToken) =>
    c.iot
      .send(new ListThingPrincipalsCommand({ thingName, nextToken }))
      .then((r) => ({ items: r.principals, next: r.nextToken })),
  ).catch((e: unknown) => (notFound(e) ? [] : Promise.reject(e)));
  for (const principal of principals) {
    await gone(() => c.iot.send(new DetachThingPrincipalCommand({ thingName, principal })));
    await deleteCertificate(c, principal.split('/').pop() ?? '', principal);
  }
  await gone(() => c.iot.send(new DeleteThingCommand({ thingName })));
}

/** Deletes an IoT policy of a run and the (claim) certificates it is attached to. */
export async function deletePolicy(c: Clients, policyName: string): Promise<void> {
  const targets = await all((marker) =>
    c.iot
      .send(new ListTargetsForPolicyCommand({ policyName, marker }))
      .then((r) => ({ items: r.targets, next: r.nextMarker })),
  ).catch((e: unknown) => (notFound(e) ? [] : Promise.reject(e)));
  for (const target of targets) {
    await gone(() => c.iot.send(new DetachPolicyCommand({ policyName, target })));
    if (target.includes(':cert/')) await deleteCertificate(c, target.split('/').pop() ?? '', target);
  }
  await gone(() => c.iot.send(new DeletePolicyCommand({ policyName })));
}

/** Deletes an IAM role with its inline and attached policies. */
async function deleteRole(c: Clients, RoleName: string): Promise<void> {
  const inline = await c.iam
    .send(new ListRolePoliciesCommand({ RoleName }))
    .catch((e: unknown) => (notFound(e) ? { PolicyNames: [] } : Promise.reject(e)));
  for (const PolicyName of inline.PolicyNames ?? [])
    await gone(() => c.iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })));
  const attached = await c.iam
    .send(new ListAttachedRolePoliciesCommand({ RoleName }))
    .catch((e: unknown) => (notFound(e) ? { AttachedPolicies: [] } : Promise.reject(e)));
  for (const p of attached.AttachedPolicies ?? []) {
    await gone(() => c.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: p.PolicyArn })));
  }
  await gone(() => c.iam.send(new DeleteRoleCommand({ RoleName })));
}

/** What carries `prefix` now, by kind: what the sweep deletes and the final check looks for. */
export async function findByPrefix(c: Clients, prefix: string): Promise<Record<string, string[]>> {
  if (!prefix.startsWith(FAMILY)) throw new Error(`refusing to look for resources outside ${FAMILY}*: ${prefix}`);
  const mine = (name?: string): name is string => !!name && name.startsWith(prefix);
  const stacks = await all((NextToken) =>
    c.cfn.send(new ListStacksCommand({ NextToken })).then((r) => ({ items: r.StackSummaries, next: r.NextToken })),
  );
  const things = await all((nextToken) =>
    c.iot
      .send(
        new ListThingsCommand({
          attributeName: RUN_ATTRIBUTE,
          attributeValue: prefix,
          usePrefixAttributeValue: true,
          nextToken,
        }),
      )
      .then((r) => ({ items: r.things, next: r.nextToken })),
  );
  const policies = await all((marker) =>
    c.iot.send(new ListPoliciesCommand({ marker })).then((r) => ({ items: r.policies, next: r.nextMarker })),
  );
  const templates = await all((nextToken) =>
    c.iot
      .send(new ListProvisioningTemplatesCommand({ nextToken }))
      .then((r) => ({ items: r.templates, next: r.nextToken })),
  );
  const functions = await all((Marker) =>
    c.lambda.send(new ListFunctionsCommand({ Marker })).then((r) => ({ items: r.Functions, next: r.NextMarker })),
  );
  const roles = await all((Marker) =>
    c.iam
      .send(new ListRolesCommand({ Marker }))
      .then((r) => ({ items: r.Roles, next: r.IsTruncated ? r.Marker : undefined })),
  );
  const logGroups: string[] = [];
  for (const logGroupNamePrefix of [prefix, `/aws/lambda/${prefix}`]) {
    const groups = await all((nextToken) =>
      c.logs
        .send(new DescribeLogGroupsCommand({ logGroupNamePrefix, nextToken }))
        .then((r) => ({ items: r.logGroups, next: r.nextToken })),
    );
    logGroups.push(...groups.map((g) => g.logGroupName).filter((n): n is string => !!n && n.includes(prefix)));
  }
  return {
    things: things.map((t) => t.thingName).filter(mine),
    policies: policies.map((p) => p.policyName).filter(mine),
    stacks: stacks
      .filter((s) => s.StackStatus !== 'DELETE_COMPLETE')
      .map((s) => s.StackName)
      .filter(mine)
      .sort((a, b) => Number(b.endsWith('-ext')) - Number(a.endsWith('-ext'))),
    templates: templates.map((t) => t.templateName).filter(mine),
    functions: functions.map((f) => f.FunctionName).filter(mine),
    roles: roles.map((r) => r.RoleName).filter(mine),
    logGroups,
  };
}

/**
 * Deletes everything that carries `prefix`, in an order that works: things
 * and policies (with their certificates), then the stacks; then what is
 * still there once CloudFormation is done (retained log groups, resources a
 * failed stack deletion kept). Reports each deletion.
 */
export async function sweep(c: Clients, prefix: string, wait: Waiting, report: (line: string) => void): Promise<void> {
  const deleters: Record<string, (name: string) => Promise<unknown>> = {
    things: (name) => deleteThing(c, name),
    policies: (name) => deletePolicy(c, name),
    stacks: (name) => deleteStack(c.cfn, name, wait),
    templates: (name) => gone(() => c.iot.send(new DeleteProvisioningTemplateCommand({ templateName: name }))),
    functions: (name) => gone(() => c.lambda.send(new DeleteFunctionCommand({ FunctionName: name }))),
    roles: (name) => deleteRole(c, name),
    logGroups: (name) => gone(() => c.logs.send(new DeleteLogGroupCommand({ logGroupName: name }))),
  };
  for (const kinds of [
    ['things', 'policies', 'stacks'],
    ['templates', 'functions', 'roles', 'logGroups'],
  ]) {
    const found = await findByPrefix(c, prefix);
    for (const kind of kinds) {
      for (const name of found[kind]) {
        await deleters[kind](name);
        report(`deleted ${kind.replace(/s$/, '')} ${name}`);
      }
    }
  }
}

/**
 * The run's teardown: the ledger's things and certificates, then the sweep,
 * then a last look. Every step is tried even when one fails. Returns what is
 * still there (empty: nothing left).
 */
export async function teardown(
  c: Clients,
  ledger: LedgerData,
  wait: Waiting,
  report: (line: string) => void,
): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, action: () => Promise<unknown>): Promise<void> => {
    try {
      await action();
      report(`deleted ${what}`);
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  const { prefix, things, certificates, policies } = ledger;
  for (const name of things) await attempt(`thing ${name}`, () => deleteThing(c, name));
  for (const { id, arn } of certificates)
    await attempt(`certificate ${id.slice(0, 12)}…`, () => deleteCertificate(c, id, arn));
  for (const name of policies) await attempt(`policy ${name}`, () => deletePolicy(c, name));
  try {
    await sweep(c, prefix, wait, report);
  } catch (e) {
    problems.push(`sweep: ${(e as Error).message}`);
  }
  const left = await findByPrefix(c, prefix).catch((e: unknown) => ({ error: [(e as Error).message] }));
  return [...problems, ...Object.entries(left).flatMap(([kind, names]) => names.map((n) => `${kind}: ${n}`))];
}
