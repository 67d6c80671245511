/**
 * A local stand-in for CloudFormation's custom resource response URL, over
 * real HTTP on 127.0.0.1 (a random port).
 *
 * FakeCloudFormation receives the handler's response PUT (what
 * CloudFormation would read from the pre-signed S3 URL), records it, and can
 * be scripted to fail the PUT or to stop listening (connection refused).
 * Wire protocol: a plain HTTP PUT of the JSON response body, answered as S3
 * answers (200, or an XML error).
 */
import * as http from 'node:http';
import { LocalServer, readBody } from './local-server';

/** One response PUT that reached "CloudFormation". */
export interface ReceivedResponse {
  /** Path and query of the URL it was sent to. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawBody: string;
  readonly body: CloudFormationResponseBody;
  /** Date.now() when it arrived, or when it was accepted. */
  at: number;
  /** Whether the fake answered 200 (false: a scripted fault, or the sender gave up first). */
  accepted: boolean;
}

export interface CloudFormationResponseBody {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly NoEcho?: boolean;
  readonly Data?: Record<string, unknown>;
}

/** CloudFormation's side of a custom resource: the pre-signed URL the answer is PUT to. */
export class FakeCloudFormation extends LocalServer {
  readonly received: ReceivedResponse[] = [];

  reset(): void {
    this.clearTimers();
    this.clearFaults();
    this.received.length = 0;
  }

  /** A ResponseURL shaped like CloudFormation's pre-signed S3 URL. */
  responseUrl(requestId: string): string {
    return `http://127.0.0.1:${this.port}/cloudformation-custom-resource-response/${encodeURIComponent(requestId)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0123abcd`;
  }

  /** Every PUT received for one request (scripted failures included), oldest first. */
  attempts(requestId: string): ReceivedResponse[] {
    return this.received.filter((r) => r.body.RequestId === requestId);
  }

  /** The answer CloudFormation accepted for one request: the last PUT it answered 200 to. */
  responseTo(requestId: string): CloudFormationResponseBody | undefined {
    return this.attempts(requestId)
      .filter((r) => r.accepted)
      .at(-1)?.body;
  }

  protected receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    void readBody(req).then((rawBody) => {
      let body: CloudFormationResponseBody;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = { RequestId: '(unparsable)' } as CloudFormationResponseBody;
      }
      const fault = req.method === 'PUT' ? this.takeFault('PUT') : undefined;
      const record: ReceivedResponse = {
        url: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        at: Date.now(),
        accepted: false,
      };
      this.received.push(record);
      const act = () => {
        if (res.destroyed || res.socket?.destroyed) {
          return; // The sender gave up waiting: nothing was accepted.
        }
        if (fault?.drop) {
          res.socket?.destroy();
        } else if (fault?.status !== undefined) {
          res.writeHead(fault.status, { 'content-type': 'application/xml' });
          res.end(
            '<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
          );
        } else if (req.method !== 'PUT') {
          res.writeHead(405);
          res.end();
        } else {
          // A delay-only fault is a slow success.
          record.accepted = true;
          record.at = Date.now();
          res.writeHead(200);
          res.end();
        }
      };
      if (fault?.delayMs) {
        this.later(fault.delayMs, act);
      } else {
        act();
      }
    });
  }
}
