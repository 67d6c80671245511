/**
 * A local stand-in for CloudFormation's API, over real HTTP on 127.0.0.1
 * (a random port).
 *
 * FakeCloudFormationApi answers the CloudFormation API calls the handler
 * makes, DescribeStackResource, DescribeStacks and ListStackResources (AWS query protocol: a
 * form-encoded POST, an XML answer), from the resource statuses the test
 * harness keeps and a stack status the test sets, and can be scripted to
 * fail them or to throttle above a request rate.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { LocalServer, readBody } from './local-server';

/** A scripted error answer to the CloudFormation API, as its query protocol sends errors. */
export interface ApiFault {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** One CloudFormation API request the handler made. */
export interface ApiRequest {
  readonly action: string;
  readonly params: Record<string, string>;
  readonly at: number;
  /** The status answered, or the fault's code. */
  readonly answer: string;
}

const CFN_XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * CloudFormation's API, for the calls the handler makes: DescribeStackResource
 * on the resources it keeps a status for (the test harness sets them as
 * CloudFormation would), and DescribeStacks. A separate server from
 * FakeCloudFormation, as the API and the pre-signed response URL are in AWS.
 */
export class FakeCloudFormationApi extends LocalServer {
  readonly requests: ApiRequest[] = [];
  /** What DescribeStacks answers for a stack not in `stacks`. */
  stackStatus = 'UPDATE_IN_PROGRESS';
  /** Stacks by id, with their status and, for a nested stack, its root's id. */
  readonly stacks = new Map<string, { status: string; rootId?: string }>();
  /**
   * Resource status by logical id, or by stack id and logical id when
   * `perStack` is set (the same logical id in two stacks); one not here "does
   * not exist" in the stack.
   */
  private readonly statuses = new Map<string, string>();
  /** Physical id by logical id (the harness keeps the ids answered to CloudFormation), for ListStackResources. */
  readonly physicalIds = new Map<string, string>();
  /** ListStackResources' page size (CloudFormation's is 100). */
  resourcePageSize = 100;
  /** Keep resource statuses per stack (set after `reset`, which clears it). */
  perStack = false;
  private readonly apiFaults: ApiFault[] = [];

  reset(): void {
    this.clearTimers();
    this.requests.length = 0;
    this.statuses.clear();
    this.physicalIds.clear();
    this.resourcePageSize = 100;
    this.stacks.clear();
    this.apiFaults.length = 0;
    this.stackStatus = 'UPDATE_IN_PROGRESS';
    this.perStack = false;
    this.resetRate();
  }

  private key(logicalId: string, stackId: string | undefined): string {
    return this.perStack ? `${stackId} ${logicalId}` : logicalId;
  }

  /** `stackId`: the resource's stack, when statuses are kept `perStack`. */
  setStatus(logicalId: string, status: string | undefined, stackId?: string): void {
    if (status === undefined) this.statuses.delete(this.key(logicalId, stackId));
    else this.statuses.set(this.key(logicalId, stackId), status);
  }

  status(logicalId: string, stackId?: string): string | undefined {
    return this.statuses.get(this.key(logicalId, stackId));
  }

  /** The next `times` requests get `fault` instead of their answer. */
  injectApi(fault: ApiFault, times = 1): this {
    for (let i = 0; i < times; i++) this.apiFaults.push(fault);
    return this;
  }

  protected receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    void readBody(req).then((rawBody) => {
      const params = Object.fromEntries(new URLSearchParams(rawBody));
      const action = params.Action ?? '';
      const requestId = randomUUID();
      const fail = (fault: ApiFault) => {
        this.requests.push({ action, params, at: Date.now(), answer: fault.code });
        res.writeHead(fault.status, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse xmlns="${CFN_XMLNS}"><Error><Type>Sender</Type><Code>${fault.code}</Code>` +
            `<Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      };
      const fault = this.apiFaults.shift();
      if (fault) return fail(fault);
      if (!this.admit()) return fail({ status: 400, code: 'Throttling', message: 'Rate exceeded' });
      if (req.method === 'POST' && action === 'DescribeStacks') {
        const stack = this.stacks.get(params.StackName ?? '') ?? { status: this.stackStatus };
        const root = stack.rootId
          ? `<RootId>${xmlEscape(stack.rootId)}</RootId><ParentId>${xmlEscape(stack.rootId)}</ParentId>`
          : '';
        this.requests.push({ action, params, at: Date.now(), answer: stack.status });
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<DescribeStacksResponse xmlns="${CFN_XMLNS}"><DescribeStacksResult><Stacks><member>` +
            `<StackId>${xmlEscape(params.StackName ?? '')}</StackId><StackName>test</StackName>` +
            `<CreationTime>2026-11-26T00:00:00.000Z</CreationTime><StackStatus>${stack.status}</StackStatus>${root}` +
            `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${requestId}</RequestId>` +
            `</ResponseMetadata></DescribeStacksResponse>`,
        );
        return;
      }
      if (req.method === 'POST' && action === 'ListStackResources') {
        // Every resource but those deleted, by logical id, one page at a time; NextToken is the next index.
        const prefix = this.perStack ? `${params.StackName} ` : '';
        const all = [...this.statuses]
          .filter(([key, status]) => key.startsWith(prefix) && status !== 'DELETE_COMPLETE')
          .map(([key, status]) => [key.slice(prefix.length), status]);
        const start = Number(params.NextToken ?? '0');
        const page = all.slice(start, start + this.resourcePageSize);
        const next = start + page.length < all.length ? `<NextToken>${start + page.length}</NextToken>` : '';
        this.requests.push({ action, params, at: Date.now(), answer: `${page.length} resources` });
        const members = page.map(
          ([logicalId, status]) =>
            `<member><LogicalResourceId>${xmlEscape(logicalId)}</LogicalResourceId>` +
            `<PhysicalResourceId>${xmlEscape(this.physicalIds.get(logicalId) ?? '')}</PhysicalResourceId>` +
            `<ResourceType>Custom::IoTProvisioningTemplateSettings</ResourceType>` +
            `<LastUpdatedTimestamp>${new Date().toISOString()}</LastUpdatedTimestamp><ResourceStatus>${status}</ResourceStatus></member>`,
        );
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<ListStackResourcesResponse xmlns="${CFN_XMLNS}"><ListStackResourcesResult><StackResourceSummaries>` +
            `${members.join('')}</StackResourceSummaries>${next}</ListStackResourcesResult>` +
            `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></ListStackResourcesResponse>`,
        );
        return;
      }
      if (req.method !== 'POST' || action !== 'DescribeStackResource') {
        return fail({
          status: 400,
          code: 'InvalidAction',
          message: `${req.method} ${action} is not supported by this fake`,
        });
      }
      const logicalId = params.LogicalResourceId ?? '';
      const status = this.status(logicalId, params.StackName);
      if (status === undefined) {
        return fail({
          status: 400,
          code: 'ValidationError',
          message: `Resource ${logicalId} does not exist for stack ${params.StackName}`,
        });
      }
      this.requests.push({ action, params, at: Date.now(), answer: status });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<DescribeStackResourceResponse xmlns="${CFN_XMLNS}"><DescribeStackResourceResult><StackResourceDetail>` +
          `<StackId>${xmlEscape(params.StackName ?? '')}</StackId><LogicalResourceId>${xmlEscape(logicalId)}</LogicalResourceId>` +
          `<ResourceType>Custom::IoTProvisioningTemplateSettings</ResourceType>` +
          `<LastUpdatedTimestamp>${new Date().toISOString()}</LastUpdatedTimestamp><ResourceStatus>${status}</ResourceStatus>` +
          `</StackResourceDetail></DescribeStackResourceResult><ResponseMetadata><RequestId>${requestId}</RequestId>` +
          `</ResponseMetadata></DescribeStackResourceResponse>`,
      );
    });
  }
}
