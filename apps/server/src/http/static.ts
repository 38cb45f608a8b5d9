import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The browser apps the server hands out next to its API:
 *  - the agent workbench (apps/web/dist) at `/`, a single-page app: unknown GET paths that want HTML get
 *    its index.html so deep links (`/conversations/42`) survive a reload;
 *  - the chat widget script at `/widget.js` (apps/widget/dist) and a demo shop page embedding it at
 *    `/demo/<inbox publicId>`.
 * Both are built by `npm run build:ui` (run by `npm start` and `npm test`); a missing build answers with
 * how to make it instead of a bare 404.
 */
const appsDir = join(import.meta.dirname, '..', '..', '..');
export const WEB_DIST = join(appsDir, 'web', 'dist');
export const WIDGET_DIST = join(appsDir, 'widget', 'dist');
const DEMO_ORDERS: Record<string, { status: string; trackingNumber?: string; carrier?: string }> = {
  HL20261118001: { status: 'shipped', trackingNumber: 'SF1402857763', carrier: '顺丰' },
  HL20261117042: { status: 'delivered', trackingNumber: 'YT9384756120', carrier: '圆通' },
  HL20261120088: { status: 'pending' },
};
const DEMO_TEMPLATE = join(appsDir, 'widget', 'demo', 'index.html');

/** Paths that belong to the API and never fall back to the workbench page. */
const API_PREFIXES = ['/api/', '/files/', '/socket.io/', '/openapi.json', '/healthz'];

const NOT_BUILT = (what: string) =>
  `<!doctype html><meta charset="utf-8"><title>Huiliu</title><p>The ${what} is not built yet. Run <code>npm run build:ui</code> (npm start does it for you) and reload.</p>`;

/** Registers the routes; returns the fallback the not-found handler asks first (true = answered with the workbench). */
export async function registerBrowserApps(app: FastifyInstance, opts: { publicUrl: string }): Promise<(req: FastifyRequest, reply: FastifyReply) => boolean> {
  const webIndex = join(WEB_DIST, 'index.html');
  // Fingerprinted assets can be cached forever; index.html and widget.js must be revalidated so an
  // upgrade reaches every browser on its next load.
  if (existsSync(WEB_DIST)) {
    await app.register(fastifyStatic, {
      root: join(WEB_DIST, 'assets'),
      prefix: '/assets/',
      maxAge: '365d',
      immutable: true,
      index: false,
    });
  }

  app.get('/widget.js', async (_req, reply) => {
    const file = join(WIDGET_DIST, 'widget.js');
    if (!existsSync(file)) return reply.code(503).type('text/javascript').send(`console.error(${JSON.stringify('Huiliu: the widget is not built; run npm run build:ui')})`);
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('access-control-allow-origin', '*')
      .header('x-content-type-options', 'nosniff')
      .send(readFileSync(file));
  });

  app.get<{ Params: { publicId: string } }>('/demo/:publicId', async (req, reply) => {
    const { publicId } = req.params;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(publicId)) return reply.code(400).type('text/plain').send('publicId: use the inbox publicId from the embed snippet');
    const html = readFileSync(DEMO_TEMPLATE, 'utf8').replaceAll('{{PUBLIC_ID}}', publicId).replaceAll('{{HUILIU_URL}}', opts.publicUrl.replace(/\/$/, ''));
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });

  // The demo shop's order API, called by the demo workspace's 查询订单 bot flow (setup/seed-bot.ts) the way a
  // real flow calls a shop's order system. Fixed demo data; any other well-formed number is "not found".
  app.get<{ Params: { id: string } }>('/demo/api/orders/:id', async (req, reply) => {
    const order = DEMO_ORDERS[req.params.id.toUpperCase()];
    if (!order) return reply.code(404).send({ error: 'not_found', message: `no order ${req.params.id.slice(0, 40)}; the demo orders are ${Object.keys(DEMO_ORDERS).join(', ')}` });
    return reply.header('cache-control', 'no-store').send(order);
  });

  const sendWorkbench = (reply: FastifyReply) =>
    existsSync(webIndex)
      ? reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(readFileSync(webIndex))
      : reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT('agent workbench'));
  app.get('/', async (_req, reply) => sendWorkbench(reply));
  return (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const wantsHtml = String(req.headers.accept ?? '').includes('text/html');
    if (req.method !== 'GET' || !wantsHtml || API_PREFIXES.some((p) => path.startsWith(p)) || path.startsWith('/assets/')) return false;
    void sendWorkbench(reply);
    return true;
  };
}

/**
 * CORS for the widget API: the widget runs on customers' sites, so its requests are cross-origin. Any
 * origin may ask; which origins are actually allowed is decided per inbox (its Origin allowlist) when the
 * config, session or visitor token is checked. No cookies are involved (the visitor token travels in the
 * Authorization header), so credentials stay off.
 */
export function registerWidgetCors(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/widget/')) return;
    const origin = req.headers.origin;
    if (!origin) return;
    reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      return reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST, PATCH, OPTIONS')
        .header('access-control-allow-headers', 'authorization, content-type')
        .header('access-control-max-age', '600')
        .send();
    }
  });
}
