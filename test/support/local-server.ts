/**
 * The shared base of the local stand-ins for the services the handler talks
 * to, over real HTTP on 127.0.0.1 (random ports): LocalServer (listen and
 * close on the same port, rate limiting, scripted faults, timers) and the
 * helpers every fake uses. It speaks no AWS protocol of its own: each fake
 * speaks its service's wire protocol on top of it:
 *
 * - FakeIot (./fake-iot): AWS IoT, REST-JSON.
 * - FakeCloudFormationApi (./fake-cfn-api): CloudFormation's API, AWS query protocol.
 * - FakeCloudFormation (./fake-cfn-responses): the pre-signed response URL, a plain PUT.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A scripted answer to one request, instead of the normal one.
 * With neither `status` nor `drop`, the request is answered normally after `delayMs`.
 */
export interface Fault {
  /** Only requests with this method take the fault; default: any. */
  readonly method?: 'GET' | 'PATCH' | 'PUT';
  /** HTTP status of the error answer. */
  readonly status?: number;
  /** `x-amzn-ErrorType`; without it, the error answer has no error code (e.g. a bare 429 or 500). */
  readonly errorType?: string;
  readonly message?: string;
  /** Wait this long before answering (or dropping). */
  readonly delayMs?: number;
  /** Wait until this settles before answering (or dropping): a latch the test releases. */
  readonly until?: Promise<unknown>;
  /** Destroy the connection instead of answering. */
  readonly drop?: boolean;
  /** PATCH only: apply the write first, then take the fault (the client cannot know it landed). */
  readonly applyFirst?: boolean;
}

interface QueuedFault {
  readonly fault: Fault;
  remaining: number;
}

/** Base of every fake: a server on 127.0.0.1 that tracks its sockets and timers. */
export abstract class LocalServer {
  protected server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faultQueue: QueuedFault[] = [];
  private rateLimit: number | undefined;
  private readonly accepted: number[] = [];
  private persistentFault: Fault | undefined;
  private boundPort = 0;

  get port(): number {
    return this.boundPort;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Throttle requests above `perSecond` accepted in any sliding second; undefined: no limit. */
  throttleAbove(perSecond: number | undefined): this {
    this.rateLimit = perSecond;
    return this;
  }

  /** The highest number of requests accepted within any one second so far. */
  get peakAcceptedPerSecond(): number {
    let peak = 0;
    let start = 0;
    for (let end = 0; end < this.accepted.length; end++) {
      while (this.accepted[end] - this.accepted[start] >= 1_000) start++;
      peak = Math.max(peak, end - start + 1);
    }
    return peak;
  }

  /** Whether a request is within the rate limit; one that is counts as accepted. */
  protected admit(): boolean {
    const now = Date.now();
    if (this.rateLimit !== undefined) {
      let inLastSecond = 0;
      for (let i = this.accepted.length - 1; i >= 0 && now - this.accepted[i] < 1_000; i--) inLastSecond++;
      if (inLastSecond >= this.rateLimit) return false;
    }
    this.accepted.push(now);
    return true;
  }

  protected resetRate(): void {
    this.accepted.length = 0;
    this.rateLimit = undefined;
  }

  /** A new server of this kind, listening. */
  static async start<T extends LocalServer>(this: new () => T): Promise<T> {
    const fake = new this();
    await fake.listen();
    return fake;
  }

  /** Start listening: on a random port the first time, on the same port again after `close()`. */
  async listen(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => this.receive(req, res));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => resolve());
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stop listening and cut every connection: from now on, connections to the port are refused. */
  async close(): Promise<void> {
    this.clearTimers();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** The next `times` matching requests take `fault`, after those already queued. */
  inject(fault: Fault, times = 1): this {
    this.faultQueue.push({ fault, remaining: times });
    return this;
  }

  /** Every matching request takes `fault` (after the queue), until `clearFaults()`. */
  injectAlways(fault: Fault): this {
    this.persistentFault = fault;
    return this;
  }

  clearFaults(): this {
    this.faultQueue.length = 0;
    this.persistentFault = undefined;
    return this;
  }

  /** How many queued faults were not used. */
  get pendingFaults(): number {
    return this.faultQueue.reduce((sum, q) => sum + q.remaining, 0);
  }

  protected takeFault(method: string): Fault | undefined {
    const queued = this.faultQueue.find(
      (q) => q.remaining > 0 && (q.fault.method === undefined || q.fault.method === method),
    );
    if (queued) {
      queued.remaining--;
      if (queued.remaining === 0) this.faultQueue.splice(this.faultQueue.indexOf(queued), 1);
      return queued.fault;
    }
    const always = this.persistentFault;
    return always && (always.method === undefined || always.method === method) ? always : undefined;
  }

  protected later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  protected clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  protected abstract receive(req: http.IncomingMessage, res: http.ServerResponse): void;
}

export async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
