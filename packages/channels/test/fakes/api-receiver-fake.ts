/**
 * An integrator's webhook receiver for the API channel, written the way docs/channels.md tells integrators
 * to write one: it verifies X-Huiliu-Signature over the raw body and the timestamp, refuses unsigned,
 * forged and stale deliveries, validates the documented payload, and deduplicates on X-Huiliu-Delivery.
 * The verification is deliberately re-implemented here (not imported from the adapter), so a bug in the
 * adapter's signing cannot be mirrored by the same bug in the check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiChannelWebhookPayload } from '@huiliu/contracts';
import type { FakePlatform } from '../contract.ts';
import { startFakeServer } from './fake-server.ts';

export interface ApiReceiverFake extends FakePlatform {
  /** Path the receiver listens on; the inbox's webhookUrl is baseUrl + path. */
  readonly path: string;
  readonly webhookUrl: string;
  /** Every request that reached the handler, with the status it was answered with. */
  attempts: Array<{ deliveryId: string | undefined; status: number }>;
  /** Distinct X-Huiliu-Delivery ids answered with 2xx, in order: what the integrator actually processed. */
  delivered: string[];
  /** Answers the next requests with these statuses, one per request, before answering 200 again. */
  failNext(status: number): void;
  setSecret(secret: string): void;
}

export interface ApiReceiverFakeOptions {
  secret: string;
  path?: string;
  /** Deliveries signed longer ago than this are refused as replays (Stripe's default is 300 s). */
  toleranceSeconds?: number;
  now?: () => number;
}

/** Parses `t=<unix seconds>,v1=<hex>` (several v1 entries allowed during secret rotation). */
function parseSignature(header: string): { t: number; v1: string[] } | null {
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2).map((s) => s.trim());
    if (k === 't' && v && /^\d+$/.test(v)) t = Number(v);
    if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) v1.push(v);
  }
  return t === undefined || v1.length === 0 ? null : { t, v1 };
}

export async function startApiReceiverFake(opts: ApiReceiverFakeOptions): Promise<ApiReceiverFake> {
  const path = opts.path ?? '/hooks/huiliu';
  const tolerance = opts.toleranceSeconds ?? 300;
  const now = opts.now ?? (() => Date.now());
  let secret = opts.secret;
  const failures: number[] = [];
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const attempts: ApiReceiverFake['attempts'] = [];
  const delivered: string[] = [];
  let counter = 0;

  const http = await startFakeServer((req, res, raw) => {
    const method = req.method ?? '';
    const reqPath = (req.url ?? '').split('?')[0]!;
    const deliveryId = typeof req.headers['x-huiliu-delivery'] === 'string' ? req.headers['x-huiliu-delivery'] : undefined;
    const answer = (status: number, body: unknown) => {
      attempts.push({ deliveryId, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const refuse = (status: number, reason: string) => {
      rejected.push({ method, path: reqPath, reason });
      answer(status, { error: reason });
    };

    if (method !== 'POST') return refuse(405, `method ${method} instead of POST`);
    if (reqPath !== path) return refuse(404, `path ${reqPath} instead of ${path}`);
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(415, `content-type ${req.headers['content-type']} instead of application/json`);
    const sigHeader = req.headers['x-huiliu-signature'];
    if (typeof sigHeader !== 'string') return refuse(401, 'unsigned: X-Huiliu-Signature missing');
    const sig = parseSignature(sigHeader);
    if (!sig) return refuse(401, `X-Huiliu-Signature not in the form t=<seconds>,v1=<hex>: ${sigHeader}`);
    const expected = createHmac('sha256', secret).update(`${sig.t}.`).update(raw).digest();
    if (!sig.v1.some((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected))) return refuse(401, 'signature does not match the raw body and timestamp');
    if (Math.abs(Math.floor(now() / 1000) - sig.t) > tolerance) return refuse(401, `stale: signed at ${sig.t}, more than ${tolerance} s ago`);
    if (!deliveryId) return refuse(400, 'X-Huiliu-Delivery missing');
    if (req.headers['x-huiliu-event'] !== 'message.created') return refuse(400, `X-Huiliu-Event ${String(req.headers['x-huiliu-event'])}`);

    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return refuse(400, 'body is not JSON');
    }
    const parsed = ApiChannelWebhookPayload.safeParse(body);
    if (!parsed.success) return refuse(400, `payload deviates from the documented shape: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    if (parsed.data.message.id !== deliveryId) return refuse(400, 'X-Huiliu-Delivery differs from message.id');

    const fail = failures.shift();
    if (fail !== undefined) return answer(fail, { error: `simulated ${fail}` });

    accepted.push({ method, path: reqPath, body });
    if (!delivered.includes(deliveryId)) delivered.push(deliveryId);
    answer(200, { id: `rcv_${++counter}` });
  });
  const { baseUrl } = http;

  return {
    baseUrl,
    path,
    webhookUrl: baseUrl + path,
    accepted,
    rejected,
    attempts,
    delivered,
    failNext: (status) => { failures.push(status); },
    setSecret: (s) => { secret = s; },
    close: http.close,
  };
}
