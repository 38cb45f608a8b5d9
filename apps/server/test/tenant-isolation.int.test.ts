/**
 * Tenant isolation, generated from GET /openapi.json.
 *
 * Workspace A is the seeded demo; workspace B is created directly with the services and filled through
 * its own admin (inbox, contact, a widget conversation with messages, team, canned response, custom role,
 * secret, an uploaded attachment). Then A's admin (and a visitor of A's inbox) calls EVERY user / visitor
 * operation of the API with B's ids — in the path, in the body, or both — and must get a 4xx that says
 * nothing about B: none of B's ids (except the ones the caller sent), names or message texts.
 *
 * Every B string contains "zephyr" so a leaked name or text is caught by one case-insensitive search.
 * A route with a path parameter the map below does not cover, or a body field holding a uuid the generator
 * cannot attribute to one of B's objects, fails the test by name — new routes cannot slip through.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '@huiliu/core/workspaces/workspace.service';
import { httpRequest, startTestServer, type RawResponse, type RequestOptions, type TestServer } from './helpers/test-server.ts';

// ---------------------------------------------------------------------------------------------------
// HTTP helper that keeps the raw response text (the leak check reads the bytes, not a parsed subset)

type Raw = RawResponse;

let server: TestServer;

async function call(method: string, path: string, o: RequestOptions = {}): Promise<Raw> {
  return httpRequest(server.url, method, path, o);
}

async function ok(method: string, path: string, o: Parameters<typeof call>[2] = {}): Promise<any> {
  const r = await call(method, path, o);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${r.text}`);
  return r.json;
}

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

function pngForm(name: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), name);
  return form;
}

// ---------------------------------------------------------------------------------------------------
// The objects of both workspaces

type ObjectKind =
  | 'conversation' | 'contact' | 'inbox' | 'team' | 'user' | 'role' | 'canned' | 'attachment' | 'identity' | 'schedule' | 'transfer' | 'contactImport' | 'message'
  | 'botIntent' | 'botFlow' | 'botTurn' | 'kbEntry' | 'kbImport';

interface Tenant {
  ids: Record<ObjectKind, string>;
}

/**
 * Which object of B an `{id}` path parameter takes, by path prefix. A route whose path parameters are
 * not covered here makes the test fail with its name: add the new prefix (and B's object) first.
 */
const PATH_ID_OWNERS: readonly { prefix: string; param: string; kind: ObjectKind }[] = [
  { prefix: '/api/v1/conversations/{id}', param: 'id', kind: 'conversation' },
  { prefix: '/api/v1/conversations/{id}', param: 'messageId', kind: 'message' },
  { prefix: '/api/v1/contacts/imports/{id}', param: 'id', kind: 'contactImport' },
  { prefix: '/api/v1/contacts/{id}', param: 'id', kind: 'contact' },
  { prefix: '/api/v1/inboxes/{id}', param: 'id', kind: 'inbox' },
  { prefix: '/api/v1/teams/{id}', param: 'id', kind: 'team' },
  { prefix: '/api/v1/users/{id}', param: 'id', kind: 'user' },
  { prefix: '/api/v1/roles/{id}', param: 'id', kind: 'role' },
  { prefix: '/api/v1/canned-responses/{id}', param: 'id', kind: 'canned' },
  { prefix: '/api/v1/routing/schedules/{id}', param: 'id', kind: 'schedule' },
  { prefix: '/api/widget/v1/conversations/{id}', param: 'id', kind: 'conversation' },
  { prefix: '/api/v1/transfers/{id}', param: 'id', kind: 'transfer' },
  { prefix: '/api/v1/bot/intents/{id}', param: 'id', kind: 'botIntent' },
  { prefix: '/api/v1/bot/flows/{id}', param: 'id', kind: 'botFlow' },
  { prefix: '/api/v1/bot/misrecognized/{id}', param: 'id', kind: 'botTurn' },
  { prefix: '/api/v1/kb/entries/{id}', param: 'id', kind: 'kbEntry' },
  { prefix: '/api/v1/kb/imports/{id}', param: 'id', kind: 'kbImport' },
];

/**
 * Routes whose path parameter is a name inside the caller's own workspace rather than a global id:
 * B's name must address A's own (absent) object. Covered by the dedicated secrets test below.
 */
const NAMESPACED_ROUTES: readonly { prefix: string; param: string }[] = [{ prefix: '/api/v1/secrets/{name}', param: 'name' }];

/** Which object a uuid-valued body or query field refers to, by field name. */
const ID_FIELD_OWNERS: Readonly<Record<string, ObjectKind>> = {
  assigneeId: 'user',
  assignee: 'user',
  userIds: 'user',
  userId: 'user',
  teamId: 'team',
  conversationId: 'conversation',
  contactId: 'contact',
  inboxId: 'inbox',
  roleId: 'role',
  attachmentIds: 'attachment',
  identityId: 'identity',
  toUserId: 'user',
  toTeamId: 'team',
  scheduleId: 'schedule',
  inboxIds: 'inbox',
  flowId: 'botFlow',
};

/** Fields a semantically valid body needs although the schema leaves them optional (a text message needs text). */
const ALWAYS_FILL = new Set(['text']);
/** Optional id fields a semantically valid body needs (a transfer needs a target): filled with the caller's own id. */
const ALWAYS_FILL_IDS = new Set(['toUserId']);

// ---------------------------------------------------------------------------------------------------
// A small request generator from the OpenAPI (JSON Schema) of an operation

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  minItems?: number;
  nullable?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
}

interface GenContext {
  route: string;
  /** 'own': id fields only where required, with A's own ids; 'foreign': every id field, with B's ids. */
  mode: 'own' | 'foreign';
  own: Tenant;
  foreign: Tenant;
  /** Body / query fields that received one of B's ids. */
  foreignFields: string[];
}

let counter = 0;

function isUuid(s: JsonSchema | undefined): boolean {
  if (!s) return false;
  if (s.format === 'uuid') return true;
  return (s.anyOf ?? []).some((a) => a.format === 'uuid');
}
/** Documented as a uuid (or an array of them). */
function isDocumentedId(s: JsonSchema): boolean {
  return isUuid(s) || (s.type === 'array' && isUuid(s.items));
}
const isStringish = (s: JsonSchema | undefined): boolean => Boolean(s && (s.type === 'string' || (s.anyOf ?? []).some((a) => a.type === 'string')));
/**
 * Holds an id: documented as a uuid, or named like one of the id fields we know (so a description that
 * lost its `format: uuid` does not make the isolation checks skip the field; that loss is a test of its own).
 */
function isIdField(s: JsonSchema, name: string): boolean {
  if (isDocumentedId(s)) return true;
  if (!(name in ID_FIELD_OWNERS)) return false;
  return isStringish(s) || (s.type === 'array' && isStringish(s.items));
}

function ownerOf(ctx: GenContext, name: string): ObjectKind {
  const kind = ID_FIELD_OWNERS[name];
  if (!kind) {
    throw new Error(`${ctx.route}: field "${name}" holds a uuid, but the tenant-isolation test does not know which object it names; add it to ID_FIELD_OWNERS`);
  }
  return kind;
}

function genId(s: JsonSchema, name: string, ctx: GenContext, required: boolean): unknown {
  const isArray = s.type === 'array';
  if (ctx.mode === 'foreign') {
    const id = ctx.foreign.ids[ownerOf(ctx, name)];
    ctx.foreignFields.push(name);
    return isArray ? [id] : id;
  }
  if (isArray) return [];
  if (s.nullable) return null;
  if (!required) return undefined;
  return ctx.own.ids[ownerOf(ctx, name)];
}

function genString(s: JsonSchema, name: string, ctx: GenContext): string {
  if (s.enum?.length) return String(s.enum[0]);
  if (s.format === 'date-time') return new Date(Date.now() + 3_600_000).toISOString();
  if (s.format === 'uri') return 'https://example.com/isolation';
  if (/email/i.test(name)) return `iso${++counter}@example.com`;
  if (/password/i.test(name)) return 'Isolation-Passw0rd-123';
  if (/timeZone/i.test(name)) return 'Asia/Shanghai';
  const min = s.minLength ?? 0;
  const candidates = [`iso${++counter}`, 'isolation text', 'https://iso.example.com', '#123456', '+8613800138000'];
  for (const c of candidates) {
    const v = c.length >= min ? c : c + 'x'.repeat(min - c.length);
    if (s.maxLength !== undefined && v.length > s.maxLength) continue;
    if (s.pattern && !new RegExp(s.pattern, 'u').test(v)) continue;
    return v;
  }
  throw new Error(`${ctx.route}: cannot generate a value for string field "${name}" (pattern ${s.pattern})`);
}

function genValue(s: JsonSchema, name: string, ctx: GenContext, required: boolean): unknown {
  if (isIdField(s, name)) return genId(s, name, ctx, required);
  if (s.anyOf?.length) return genValue(s.anyOf[0]!, name, ctx, required);
  if (s.oneOf?.length) return genValue(s.oneOf[0]!, name, ctx, required);
  // Any JSON (a schema without constraints, e.g. a document validated by the route itself): an empty object.
  if (Object.keys(s).length === 0) return {};
  switch (s.type) {
    case 'object':
      return genObject(s, ctx);
    case 'array': {
      const n = s.minItems ?? 0;
      return Array.from({ length: n }, () => genValue(s.items ?? {}, name, ctx, true));
    }
    case 'string':
      return genString(s, name, ctx);
    case 'integer':
    case 'number':
      return s.minimum ?? 0;
    case 'boolean':
      return false;
    default:
      if (s.enum?.length) return s.enum[0];
      throw new Error(`${ctx.route}: cannot generate a value for field "${name}" (${JSON.stringify(s).slice(0, 200)})`);
  }
}

function genObject(s: JsonSchema, ctx: GenContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const required = new Set(s.required ?? []);
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const req = required.has(name);
    const fillId = ctx.mode === 'own' && ALWAYS_FILL_IDS.has(name);
    const include = req || fillId || ALWAYS_FILL.has(name) || (ctx.mode === 'foreign' && isIdField(prop, name));
    if (!include) continue;
    const v = genValue(prop, name, ctx, req || fillId);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

interface Operation {
  method: string;
  path: string;
  auth: string;
  op: {
    parameters?: { name: string; in: 'path' | 'query'; required: boolean; schema: JsonSchema }[];
    requestBody?: { content: Record<string, { schema: JsonSchema }> };
  };
}

const label = (o: Operation) => `${o.method} ${o.path}`;
const pathParams = (o: Operation) => [...o.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!);
const jsonBodySchema = (o: Operation) => o.op.requestBody?.content['application/json']?.schema;
const isMultipart = (o: Operation) => Boolean(o.op.requestBody?.content['multipart/form-data']);

function idOwner(o: Operation, param: string): ObjectKind | 'namespaced' | undefined {
  if (NAMESPACED_ROUTES.some((r) => r.param === param && (o.path === r.prefix || o.path.startsWith(`${r.prefix}/`)))) return 'namespaced';
  return PATH_ID_OWNERS.find((r) => r.param === param && (o.path === r.prefix || o.path.startsWith(`${r.prefix}/`)))?.kind;
}

function fillPath(o: Operation, t: Tenant): string {
  return o.path.replace(/\{([A-Za-z]+)\}/g, (_m, p: string) => {
    const kind = idOwner(o, p);
    if (!kind || kind === 'namespaced') throw new Error(`${label(o)}: no id for {${p}}`);
    return t.ids[kind];
  });
}

/** Builds a body for an operation; `foreignFields` lists the fields that got one of B's ids. */
function buildBody(o: Operation, mode: 'own' | 'foreign', own: Tenant, foreign: Tenant): { body: unknown; foreignFields: string[] } {
  const schema = jsonBodySchema(o);
  const ctx: GenContext = { route: label(o), mode, own, foreign, foreignFields: [] };
  if (!schema) return { body: undefined, foreignFields: [] };
  return { body: genObject(schema, ctx), foreignFields: ctx.foreignFields };
}

function buildQuery(o: Operation, mode: 'own' | 'foreign', own: Tenant, foreign: Tenant, q?: string): { query: string; foreignFields: string[] } {
  const ctx: GenContext = { route: label(o), mode, own, foreign, foreignFields: [] };
  const params = new URLSearchParams();
  for (const p of o.op.parameters ?? []) {
    if (p.in !== 'query') continue;
    const s = p.schema;
    if (p.name === 'q' && q !== undefined) {
      params.set('q', q);
      continue;
    }
    if (isIdField(s, p.name)) {
      if (mode === 'foreign') params.set(p.name, String(genId(s, p.name, ctx, p.required)));
      continue;
    }
    // Widest view of a list: a status filter with an "all" value is set to it.
    const all = (s.anyOf ?? [s]).some((a) => a.enum?.includes('all'));
    if (all) params.set(p.name, 'all');
    else if (p.required) params.set(p.name, String(genValue(s, p.name, ctx, true)));
  }
  const qs = params.toString();
  return { query: qs ? `?${qs}` : '', foreignFields: ctx.foreignFields };
}

// ---------------------------------------------------------------------------------------------------
// Leak detection

let bSecrets: string[] = [];
const LEAK_WORD = 'zephyr';

/** What of B a response reveals, ignoring ids the caller itself sent in this request. */
function leaks(r: Raw, sent: string): string[] {
  const text = r.text.toLowerCase();
  const mine = sent.toLowerCase();
  const found: string[] = [];
  if (text.includes(LEAK_WORD)) found.push(`"${LEAK_WORD}" (a name or text of workspace B)`);
  for (const s of bSecrets) {
    const v = s.toLowerCase();
    if (text.includes(v) && !mine.includes(v)) found.push(v);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------
// Setup

const PASSWORD_B = 'Zephyr-Password-1234';
let tokenA = '';
let tokenB = '';
let visitorA = '';
let visitorB = '';
let A: Tenant;
let B: Tenant;
let workspaceB = '';
let inboxBPublicId = '';
let operations: Operation[] = [];
const secretNameB = 'zephyr-api-key';
const secretValueB = 'zephyr-secret-value-QXWZ';
let snapshotB: Record<string, unknown>;
let adminBId = '';
let agentBId = '';

/**
 * The control below runs every generated request as B's own admin. Transfers are single-use (an answer
 * settles them) and need a target that is not the assignee, so those requests get a state they can
 * succeed on: a fresh pending transfer to B's admin for each answer, and B's admin as the assignee when
 * the generated body transfers to B's agent. Returns the path to call.
 */
async function prepareControl(o: Operation, path: string): Promise<string> {
  const conv = B.ids.conversation;
  if (o.path === '/api/v1/conversations/{id}/transfers' || o.path.startsWith('/api/v1/transfers/{id}/')) {
    // Earlier generated requests may have emptied the inbox's members.
    await ok('PUT', `/api/v1/inboxes/${B.ids.inbox}/members`, { token: tokenB, body: { userIds: [adminBId, agentBId] } });
  }
  if (o.path === '/api/v1/conversations/{id}/transfers') {
    await ok('POST', `/api/v1/conversations/${conv}/assign`, { token: tokenB, body: { assigneeId: adminBId } });
  }
  // Merges (identity.routes.ts): the generated body names B's contact as the survivor, so the path takes a
  // fresh contact to merge into it; an unmerge needs a contact that was merged.
  if (o.path === '/api/v1/contacts/{id}/merge-into' || o.path === '/api/v1/contacts/{id}/unmerge') {
    const fresh = await ok('POST', '/api/v1/contacts', { token: tokenB, body: { name: 'Zephyrine Merge Control' } });
    if (o.path.endsWith('/unmerge')) await ok('POST', `/api/v1/contacts/${fresh.id}/merge-into`, { token: tokenB, body: { contactId: B.ids.contact } });
    return o.path.replace('{id}', fresh.id);
  }
  // Only a failed delivery to an external channel can be retried (delivery.routes.ts): B gets one, in an
  // API-channel inbox (written directly: a delivery fails only after the platform refused it).
  if (o.path === '/api/v1/conversations/{id}/messages/{messageId}/retry') {
    const apiInbox = await ok('POST', '/api/v1/inboxes', { token: tokenB, body: { name: 'Zephyrine API', channelType: 'api' } });
    const made = await server.node.services.db.transaction(async (tx) => {
      const identity = (await tx.query(`INSERT INTO contact_identities (workspace_id, contact_id, inbox_id, channel_type, source_id) VALUES ($1, $2, $3, 'api', 'zephyr-ext') RETURNING id`, [workspaceB, B.ids.contact, apiInbox.id]))[0]!;
      const c = (await tx.query(
        `WITH d AS (UPDATE workspaces SET next_display_id = next_display_id + 1 WHERE id = $1 RETURNING next_display_id)
         INSERT INTO conversations (workspace_id, display_id, inbox_id, contact_id, identity_id, last_seq) SELECT $1, d.next_display_id, $2, $3, $4, 1 FROM d RETURNING id`,
        [workspaceB, apiInbox.id, B.ids.contact, identity.id],
      ))[0]!;
      const m = (await tx.query(
        `INSERT INTO messages (workspace_id, inbox_id, conversation_id, seq, direction, sender_type, sender_id, text, delivery_status, content)
         VALUES ($1, $2, $3, 1, 'outgoing', 'user', $4, 'Zephyrine failed reply', 'failed', '{"deliveryError":"refused"}') RETURNING id`,
        [workspaceB, apiInbox.id, c.id, adminBId],
      ))[0]!;
      return { conversationId: c.id as string, messageId: m.id as string };
    });
    return o.path.replace('{id}', made.conversationId).replace('{messageId}', made.messageId);
  }
  if (o.path.startsWith('/api/v1/transfers/{id}/')) {
    await ok('POST', `/api/v1/conversations/${conv}/assign`, { token: tokenB, body: { assigneeId: agentBId } });
    // Offered by the assignee (B's agent): nobody transfers to themselves.
    const agentToken = (await server.node.services.users.login({ email: 'agent@zephyrine.example', password: PASSWORD_B }, { ip: '127.0.0.1' })).token;
    const fresh = await ok('POST', `/api/v1/conversations/${conv}/transfers`, { token: agentToken, body: { toUserId: adminBId } });
    return o.path.replace('{id}', fresh.id);
  }
  return path;
}

async function snapshotOfB(): Promise<Record<string, unknown>> {
  const strip = (x: any) => JSON.parse(JSON.stringify(x));
  return strip({
    workspace: await ok('GET', '/api/v1/workspace', { token: tokenB }),
    users: await ok('GET', '/api/v1/users', { token: tokenB }),
    roles: await ok('GET', '/api/v1/roles', { token: tokenB }),
    teams: await ok('GET', '/api/v1/teams', { token: tokenB }),
    inboxes: await ok('GET', '/api/v1/inboxes', { token: tokenB }),
    canned: await ok('GET', '/api/v1/canned-responses', { token: tokenB }),
    contacts: await ok('GET', `/api/v1/contacts/${B.ids.contact}`, { token: tokenB }),
    conversation: await ok('GET', `/api/v1/conversations/${B.ids.conversation}`, { token: tokenB }),
    messages: await ok('GET', `/api/v1/conversations/${B.ids.conversation}/messages`, { token: tokenB }),
    secrets: await ok('GET', '/api/v1/secrets', { token: tokenB }),
  });
}

beforeAll(async () => {
  server = await startTestServer();
  const s = server.node.services;

  // ---- workspace A: the demo
  tokenA = (await s.users.login({ email: server.demo.adminEmail, password: server.demo.password }, { ip: '127.0.0.1' })).token;
  const inboxesA = await ok('GET', '/api/v1/inboxes', { token: tokenA });
  const inboxA = inboxesA[0];
  const usersA = await ok('GET', '/api/v1/users', { token: tokenA });
  const convsA = await ok('GET', '/api/v1/conversations?status=all', { token: tokenA });
  const teamsA = await ok('GET', '/api/v1/teams', { token: tokenA });
  const cannedA = await ok('GET', '/api/v1/canned-responses', { token: tokenA });
  const roleA = await ok('POST', '/api/v1/roles', { token: tokenA, body: { name: 'isolation-role-a', permissions: ['conversation.read'] } });
  const attA = await ok('POST', '/api/v1/attachments', { token: tokenA, form: pngForm('a.png') });
  const convA = convsA.items[0];
  const identitiesA = await ok('GET', `/api/v1/contacts/${convA.contactId}/identities`, { token: tokenA });
  const scheduleA = await ok('POST', '/api/v1/routing/schedules', { token: tokenA, body: { name: 'Isolation hours A', timeZone: 'Asia/Shanghai', weekly: { mon: [{ start: '09:00', end: '18:00' }] } } });
  A = {
    ids: {
      conversation: convA.id,
      contact: convA.contactId,
      inbox: inboxA.id,
      team: teamsA[0].id,
      user: usersA.find((u: any) => u.role === 'agent').id,
      role: roleA.id,
      canned: cannedA[0].id,
      attachment: attA.id,
      identity: identitiesA[0].id,
      // Only B's transfer is ever used: no route takes a transfer id in its body.
      transfer: randomUUID(),
      schedule: scheduleA.id,
      // Likewise: no route takes an import id in its body.
      contactImport: randomUUID(),
      // Likewise: message ids appear only in paths.
      message: randomUUID(),
      // Bot objects: only B's are addressed (flowId in a body is filled with B's flow in foreign mode).
      botIntent: randomUUID(),
      botFlow: randomUUID(),
      botTurn: randomUUID(),
      kbEntry: randomUUID(),
      kbImport: randomUUID(),
    },
  };

  // ---- workspace B: created with the services, filled through its own admin
  const { workspace, adminB, agentB } = await s.db.transaction(async (tx) => {
    const workspace = await createWorkspace(tx, { name: 'Zephyrine Holdings 泽菲', slug: 'zephyrine' });
    const adminB = await s.users.createActive(tx, workspace.id, { email: 'boss@zephyrine.example', name: 'Zephyrine Boss Quillon', password: PASSWORD_B, role: 'admin' });
    const agentB = await s.users.createActive(tx, workspace.id, { email: 'agent@zephyrine.example', name: 'Zephyrine Agent Marlowe', password: PASSWORD_B, role: 'agent' });
    return { workspace, adminB, agentB };
  });
  workspaceB = workspace.id;
  tokenB = (await s.users.login({ email: adminB.email, password: PASSWORD_B }, { ip: '127.0.0.1' })).token;

  const inboxB = await ok('POST', '/api/v1/inboxes', { token: tokenB, body: { name: 'Zephyrine Secret Inbox', widget: { greeting: 'Zephyrine greeting' } } });
  inboxBPublicId = inboxB.publicId;
  await ok('PUT', `/api/v1/inboxes/${inboxB.id}/members`, { token: tokenB, body: { userIds: [adminB.id, agentB.id] } });
  const teamB = await ok('POST', '/api/v1/teams', { token: tokenB, body: { name: 'Zephyrine Team Omega', description: 'zephyr team' } });
  await ok('PUT', `/api/v1/teams/${teamB.id}/members`, { token: tokenB, body: { userIds: [agentB.id] } });
  const cannedB = await ok('POST', '/api/v1/canned-responses', { token: tokenB, body: { shortCode: 'zephyrcanned', content: 'Zephyrine canned secret 4471' } });
  const roleB = await ok('POST', '/api/v1/roles', { token: tokenB, body: { name: 'zephyr-role', permissions: ['conversation.read', 'contact.read'] } });
  const contactB2 = await ok('POST', '/api/v1/contacts', { token: tokenB, body: { name: 'Zephyrine Contact Olwen', email: 'olwen@zephyrine.example', phone: '+8613900001111', tags: ['zephyr-tag'] } });
  await call('PUT', `/api/v1/secrets/${secretNameB}`, { token: tokenB, body: { value: secretValueB } });
  const attB = await ok('POST', '/api/v1/attachments', { token: tokenB, form: pngForm('zephyr.png') });

  // A conversation with messages through the widget API of B's inbox
  const sessionB = await ok('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: inboxB.publicId, name: 'Zephyrine Visitor Pell', email: 'pell@zephyrine.example' } });
  visitorB = sessionB.visitorToken;
  const created = await ok('POST', '/api/widget/v1/conversations', { token: visitorB, body: { text: 'Zephyrine visitor message marmalade 7731' } });
  const convB = created.conversation;
  const replyB = await ok('POST', `/api/v1/conversations/${convB.id}/messages`, { token: tokenB, body: { clientId: 'zb-1', text: 'Zephyrine agent reply quasar 5150' } });
  const noteB = await ok('POST', `/api/v1/conversations/${convB.id}/messages`, { token: tokenB, body: { clientId: 'zb-2', text: 'Zephyrine private note', private: true } });
  await ok('POST', `/api/v1/conversations/${convB.id}/assign`, { token: tokenB, body: { assigneeId: agentB.id } });
  await ok('PATCH', `/api/v1/conversations/${convB.id}`, { token: tokenB, body: { teamId: teamB.id, tags: ['zephyr-vip'] } });
  const identitiesB = await ok('GET', `/api/v1/contacts/${sessionB.contactId}/identities`, { token: tokenB });
  // A pending transfer: B's agent (the assignee) offers the conversation to B's admin.
  const agentBToken = (await s.users.login({ email: 'agent@zephyrine.example', password: PASSWORD_B }, { ip: '127.0.0.1' })).token;
  const transferB = await ok('POST', `/api/v1/conversations/${convB.id}/transfers`, { token: agentBToken, body: { toUserId: adminB.id, note: 'Zephyrine transfer note' } });
  adminBId = adminB.id;
  agentBId = agentB.id;
  const scheduleB = await ok('POST', '/api/v1/routing/schedules', { token: tokenB, body: { name: 'Zephyrine hours', timeZone: 'Asia/Shanghai', weekly: { mon: [{ start: '09:00', end: '18:00' }] } } });
  const csvB = new FormData();
  csvB.append('file', new Blob(['name,email,zephyr note\nZephyrine Imported Rhoswen,rhoswen@zephyrine.example,zephyr attribute\n,not-an-email,\n']), 'zephyr-contacts.csv');
  const importB = await ok('POST', '/api/v1/contacts/imports', { token: tokenB, form: csvB });
  for (let i = 0; i < 200 && (await ok('GET', `/api/v1/contacts/imports/${importB.id}`, { token: tokenB })).status !== 'done'; i++) await new Promise((r) => setTimeout(r, 25));

  // The bot: an intent, a flow, a knowledge-base entry and import, and a message the bot did not understand.
  const intentB = await ok('POST', '/api/v1/bot/intents', { token: tokenB, body: { name: 'zephyr_intent', examples: ['Zephyrine example utterance'] } });
  const flowB = await ok('POST', '/api/v1/bot/flows', {
    token: tokenB,
    body: { name: 'Zephyrine flow', draft: { triggers: { intents: [], phrases: ['zephyr trigger'] }, start: 's1', steps: [{ id: 's1', type: 'end', message: 'Zephyrine flow secret' }] } },
  });
  const entryB = await ok('POST', '/api/v1/kb/entries', { token: tokenB, body: { kind: 'faq', title: 'Zephyrine question', body: 'Zephyrine answer 8812' } });
  const kbCsvB = new FormData();
  kbCsvB.append('file', new Blob(['question,answer\nZephyrine imported question,Zephyrine imported answer\n']), 'zephyr-faq.csv');
  const kbImportB = await ok('POST', '/api/v1/kb/imports', { token: tokenB, form: kbCsvB });
  const turnB = await s.db.query(
    `INSERT INTO bot_turns (workspace_id, conversation_id, message_id, text, action) VALUES ($1, $2, $3, 'Zephyrine unclear message', 'fallback') RETURNING id`,
    [workspace.id, convB.id, created.message.id],
  );

  B = {
    ids: {
      conversation: convB.id,
      contact: sessionB.contactId,
      inbox: inboxB.id,
      team: teamB.id,
      user: agentB.id,
      role: roleB.id,
      canned: cannedB.id,
      attachment: attB.id,
      identity: identitiesB[0].id,
      transfer: transferB.id,
      schedule: scheduleB.id,
      contactImport: importB.id,
      message: replyB.message.id,
      botIntent: intentB.id,
      botFlow: flowB.id,
      botTurn: turnB[0]!.id as string,
      kbEntry: entryB.id,
      kbImport: kbImportB.id,
    },
  };
  const secretsB = await ok('GET', '/api/v1/secrets', { token: tokenB });
  bSecrets = [
    workspace.id, adminB.id, agentB.id, inboxB.id, inboxB.publicId, teamB.id, cannedB.id, roleB.id, contactB2.id, sessionB.contactId,
    convB.id, created.message.id, replyB.message.id, noteB.message.id, attB.id, identitiesB[0].id, secretsB[0].id, 'QXWZ', transferB.id, scheduleB.id,
    importB.id, intentB.id, flowB.id, entryB.id, kbImportB.id, turnB[0]!.id as string,
  ];
  expect(bSecrets.every((x) => typeof x === 'string' && x.length > 0)).toBe(true);

  // A visitor of A's inbox, with a conversation of their own
  const sessionA = await ok('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: server.demo.widgetInboxPublicId, name: 'Isolation Visitor' } });
  visitorA = sessionA.visitorToken;

  // The API description: every user and visitor operation
  const doc = await ok('GET', '/openapi.json');
  operations = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(ops)) operations.push({ method: method.toUpperCase(), path, auth: op['x-huiliu-auth'], op });
  }
  snapshotB = await snapshotOfB();
}, 120_000);

afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------------------------------

describe('tenant isolation (generated from /openapi.json)', () => {
  it('the API description lists user and visitor operations, and every path parameter is mapped', () => {
    const relevant = operations.filter((o) => o.auth === 'user' || o.auth === 'visitor');
    expect(relevant.length).toBeGreaterThan(40);
    expect(operations.every((o) => ['user', 'visitor', 'public'].includes(o.auth))).toBe(true);
    const unmapped: string[] = [];
    for (const o of relevant) {
      for (const p of pathParams(o)) if (!idOwner(o, p)) unmapped.push(`${label(o)} ({${p}})`);
    }
    expect(unmapped, `routes with path parameters the tenant-isolation map does not cover — map them in PATH_ID_OWNERS: ${unmapped.join(', ')}`).toEqual([]);
  });

  it('the API description documents every id-carrying body and query field as a uuid', () => {
    const undocumented: string[] = [];
    let seen = 0;
    const walk = (s: JsonSchema | undefined, where: string) => {
      if (!s) return;
      for (const [name, prop] of Object.entries(s.properties ?? {})) {
        if (name in ID_FIELD_OWNERS) {
          seen++;
          if (!isDocumentedId(prop)) undocumented.push(`${where}.${name}: ${JSON.stringify(prop)}`);
        }
        walk(prop, `${where}.${name}`);
        walk(prop.items, `${where}.${name}[]`);
      }
    };
    for (const o of operations) {
      const body = jsonBodySchema(o);
      if (body) walk(body, `${label(o)} body`);
      for (const p of o.op.parameters ?? []) {
        if (p.in === 'query' && p.name in ID_FIELD_OWNERS) {
          seen++;
          if (!isDocumentedId(p.schema)) undocumented.push(`${label(o)} query.${p.name}: ${JSON.stringify(p.schema)}`);
        }
      }
    }
    expect(seen).toBeGreaterThan(5);
    expect(undocumented, `id fields without format: uuid in /openapi.json:\n${undocumented.join('\n')}`).toEqual([]);
  });

  it("A's admin gets 404 for every id-bearing user operation on B's objects, and no leak", async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const o of operations.filter((x) => x.auth === 'user' && pathParams(x).length > 0)) {
      if (pathParams(o).some((p) => idOwner(o, p) === 'namespaced')) continue;
      if (pathParams(o).some((p) => !idOwner(o, p))) {
        failures.push(`${label(o)}: path parameter not mapped`);
        continue;
      }
      const path = fillPath(o, B);
      // 1. B's id in the path, a body referencing nothing of B → exactly 404
      const minimal = buildBody(o, 'own', A, B);
      const r1 = isMultipart(o)
        ? await call(o.method, path, { token: tokenA, form: pngForm('x.png') })
        : await call(o.method, path, { token: tokenA, ...(minimal.body !== undefined ? { body: minimal.body } : {}) });
      checked++;
      if (r1.status !== 404 || r1.json?.error?.code !== 'not_found') failures.push(`${label(o)} with B's id: expected 404 not_found, got ${r1.status} ${r1.text.slice(0, 200)}`);
      const l1 = leaks(r1, path + JSON.stringify(minimal.body ?? ''));
      if (l1.length) failures.push(`${label(o)} with B's id leaks ${l1.join(', ')}`);

      // 2. B's id in the path and B's ids in every id field of the body → 400 / 404
      const foreign = buildBody(o, 'foreign', A, B);
      if (foreign.foreignFields.length) {
        const r2 = await call(o.method, path, { token: tokenA, body: foreign.body });
        checked++;
        if (r2.status !== 404 && r2.status !== 400) failures.push(`${label(o)} with B's ids in path and body (${foreign.foreignFields}): expected 400/404, got ${r2.status} ${r2.text.slice(0, 200)}`);
        const l2 = leaks(r2, path + JSON.stringify(foreign.body));
        if (l2.length) failures.push(`${label(o)} with B's ids in path and body leaks ${l2.join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(25);
  });

  it("A's admin referencing B's objects in bodies of A's own objects gets 400/404, and no leak", async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const o of operations.filter((x) => x.auth === 'user' && jsonBodySchema(x))) {
      if (pathParams(o).some((p) => idOwner(o, p) === 'namespaced')) continue;
      const foreign = buildBody(o, 'foreign', A, B);
      if (!foreign.foreignFields.length) continue;
      const path = pathParams(o).length ? fillPath(o, A) : o.path;
      const r = await call(o.method, path, { token: tokenA, body: foreign.body });
      checked++;
      if (r.status !== 400 && r.status !== 404) failures.push(`${label(o)} on A's object with B's ${foreign.foreignFields}: expected 400/404, got ${r.status} ${r.text.slice(0, 200)}`);
      const l = leaks(r, path + JSON.stringify(foreign.body));
      if (l.length) failures.push(`${label(o)} on A's object with B's ${foreign.foreignFields} leaks ${l.join(', ')}`);
    }
    expect(failures).toEqual([]);
    // assign, conversation team, messages (attachments), inbox members, team members, canned render
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it("a 400 for one of B's ids in a body names the offending field as body.<field>", async () => {
    const failures: string[] = [];
    for (const o of operations.filter((x) => (x.auth === 'user' || x.auth === 'visitor') && jsonBodySchema(x))) {
      if (pathParams(o).some((p) => idOwner(o, p) === 'namespaced')) continue;
      const foreign = buildBody(o, 'foreign', A, B);
      if (!foreign.foreignFields.length) continue;
      const token = o.auth === 'user' ? tokenA : visitorA;
      let path = o.path;
      if (pathParams(o).length) {
        if (o.auth === 'visitor') {
          const mine = await ok('POST', '/api/widget/v1/conversations', { token: visitorA, body: {} });
          path = o.path.replace('{id}', mine.conversation.id);
        } else path = fillPath(o, A);
      }
      const r = await call(o.method, path, { token, body: foreign.body });
      if (r.status !== 400) continue;
      const paths = ((r.json?.error?.issues ?? []) as { path: string }[]).map((i) => i.path);
      const expected = foreign.foreignFields.map((f) => `body.${f}`);
      if (r.json?.error?.code !== 'validation_failed' || !paths.some((p) => expected.some((e) => p === e || p.startsWith(`${e}.`)))) {
        failures.push(`${label(o)}: expected validation_failed naming ${expected.join(' or ')}, got ${r.text.slice(0, 300)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("list and search endpoints of A contain nothing of B, also when filtered by B's ids", async () => {
    const failures: string[] = [];
    let checked = 0;
    const probes = ['Zephyrine', 'zephyr', 'marmalade', 'quasar', 'olwen@zephyrine.example', 'Olwen', 'Pell', '4471', '泽菲', '#1'];
    for (const o of operations.filter((x) => x.auth === 'user' && x.method === 'GET' && pathParams(x).length === 0)) {
      const needsQ = (o.op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'q' && p.required);
      for (const q of needsQ ? probes : [undefined]) {
        for (const mode of ['own', 'foreign'] as const) {
          const { query, foreignFields } = buildQuery(o, mode, A, B, q);
          if (mode === 'foreign' && !foreignFields.length) continue;
          const r = await call('GET', o.path + query, { token: tokenA });
          checked++;
          if (mode === 'own' && r.status !== 200) failures.push(`GET ${o.path}${query}: expected 200, got ${r.status} ${r.text.slice(0, 200)}`);
          if (mode === 'foreign' && r.status !== 200 && r.status !== 400 && r.status !== 404) failures.push(`GET ${o.path}${query}: expected 200/400/404, got ${r.status}`);
          const l = leaks(r, query);
          if (l.length) failures.push(`GET ${o.path}${query} leaks ${l.join(', ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(15);
  });

  it("a visitor of A's inbox gets 404 for every visitor operation on B's conversation, and no leak", async () => {
    const failures: string[] = [];
    let checked = 0;
    const own = await ok('POST', '/api/widget/v1/conversations', { token: visitorA, body: { text: 'isolation visitor A' } });
    const ownTenant: Tenant = { ids: { ...A.ids, conversation: own.conversation.id } };
    for (const o of operations.filter((x) => x.auth === 'visitor')) {
      if (pathParams(o).length === 0) {
        if (o.method !== 'GET') continue; // creating one's own conversation / upload: no foreign input to give
        const r = await call('GET', o.path, { token: visitorA });
        checked++;
        if (r.status !== 200) failures.push(`${label(o)}: expected 200, got ${r.status}`);
        const l = leaks(r, '');
        if (l.length) failures.push(`${label(o)} leaks ${l.join(', ')}`);
        continue;
      }
      if (pathParams(o).some((p) => !idOwner(o, p) || idOwner(o, p) === 'namespaced')) {
        failures.push(`${label(o)}: path parameter not mapped`);
        continue;
      }
      const path = fillPath(o, B);
      const minimal = buildBody(o, 'own', ownTenant, B);
      const r1 = await call(o.method, path, { token: visitorA, ...(minimal.body !== undefined ? { body: minimal.body } : {}) });
      checked++;
      if (r1.status !== 404 || r1.json?.error?.code !== 'not_found') failures.push(`${label(o)} with B's conversation: expected 404 not_found, got ${r1.status} ${r1.text.slice(0, 200)}`);
      const l1 = leaks(r1, path + JSON.stringify(minimal.body ?? ''));
      if (l1.length) failures.push(`${label(o)} with B's conversation leaks ${l1.join(', ')}`);

      const foreign = buildBody(o, 'foreign', ownTenant, B);
      if (foreign.foreignFields.length) {
        for (const target of [B, ownTenant]) {
          const p = fillPath(o, target);
          const r2 = await call(o.method, p, { token: visitorA, body: foreign.body });
          checked++;
          if (r2.status !== 400 && r2.status !== 404) failures.push(`${label(o)} (${target === B ? "B's" : "own"} conversation) with B's ${foreign.foreignFields}: expected 400/404, got ${r2.status} ${r2.text.slice(0, 200)}`);
          const l2 = leaks(r2, p + JSON.stringify(foreign.body));
          if (l2.length) failures.push(`${label(o)} with B's ${foreign.foreignFields} leaks ${l2.join(', ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  it("a visitor token of B's inbox does not open A's conversations (and vice versa) over REST", async () => {
    const own = await ok('POST', '/api/widget/v1/conversations', { token: visitorA, body: { text: 'visitor A private text' } });
    const r = await call('GET', `/api/widget/v1/conversations/${own.conversation.id}/messages`, { token: visitorB });
    expect(r.status).toBe(404);
    expect(r.text).not.toContain('visitor A private text');
    const list = await call('GET', '/api/widget/v1/conversations', { token: visitorB });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(own.conversation.id);
    expect(list.json.map((c: any) => c.id)).toEqual([B.ids.conversation]);
  });

  it("secrets are namespaced per workspace: B's secret name addresses nothing in A, and A's writes never touch B's", async () => {
    // The dedicated test of the namespaced routes (NAMESPACED_ROUTES): every one must be exercised here.
    const covered = ['PUT /api/v1/secrets/{name}', 'DELETE /api/v1/secrets/{name}'];
    const namespaced = operations.filter((o) => pathParams(o).some((p) => idOwner(o, p) === 'namespaced')).map(label);
    expect(namespaced.sort()).toEqual(covered.sort());

    const del = await call('DELETE', `/api/v1/secrets/${secretNameB}`, { token: tokenA });
    expect(del.status).toBe(404);
    expect(leaks(del, secretNameB)).toEqual([]);
    const put = await call('PUT', `/api/v1/secrets/${secretNameB}`, { token: tokenA, body: { value: 'a-own-value-of-workspace-a' } });
    expect(put.status).toBe(204);
    const listA = await ok('GET', '/api/v1/secrets', { token: tokenA });
    expect(listA).toHaveLength(1);
    expect(listA[0].hint).toBe('••••ce-a');
    const vault = server.node.services.vault;
    expect(await vault.get(workspaceB, secretNameB)).toBe(secretValueB);
    const del2 = await call('DELETE', `/api/v1/secrets/${secretNameB}`, { token: tokenA });
    expect(del2.status).toBe(204);
    expect(await vault.get(workspaceB, secretNameB)).toBe(secretValueB);
  });

  it("B's data is unchanged after all of A's attempts, and B's own admin still sees it", async () => {
    const now = await snapshotOfB();
    expect(now).toEqual(snapshotB);
    // B's widget still works for B's visitor and B's admin sees B's conversation in their list
    const list = await ok('GET', '/api/v1/conversations?status=all', { token: tokenB });
    expect(list.items.map((c: any) => c.id)).toEqual([B.ids.conversation]);
    const cfg = await call('GET', `/api/widget/v1/inboxes/${inboxBPublicId}/config`);
    expect(cfg.status).toBe(200);
  });

  it("control: the leak detector flags B's data in B's own view", async () => {
    const r = await call('GET', `/api/v1/conversations/${B.ids.conversation}/messages`, { token: tokenB });
    expect(r.status).toBe(200);
    expect(leaks(r, '')).toContain(`"${LEAK_WORD}" (a name or text of workspace B)`);
    expect(leaks(r, '')).toContain(B.ids.conversation.toLowerCase());
    // ids the caller sent are not counted as leaks
    expect(leaks(r, `/api/v1/conversations/${B.ids.conversation}/messages`)).not.toContain(B.ids.conversation.toLowerCase());
  });

  it('unknown ids (random uuids) behave exactly like B ids: 404 without detail', async () => {
    const r1 = await call('GET', `/api/v1/conversations/${randomUUID()}`, { token: tokenA });
    const r2 = await call('GET', `/api/v1/conversations/${B.ids.conversation}`, { token: tokenA });
    expect(r1.status).toBe(404);
    expect(r2.status).toBe(404);
    expect(r2.json).toEqual(r1.json);
  });

  // Runs last: it changes B. The generated requests that got 404 for A succeed for B's own admin and
  // visitor, so the 404s above come from the tenant check and not from a malformed generated request.
  it("control: the same generated requests succeed for B's own admin and visitor", async () => {
    const failures: string[] = [];
    const idOps = operations.filter((o) => (o.auth === 'user' || o.auth === 'visitor') && pathParams(o).length > 0 && !pathParams(o).some((p) => idOwner(o, p) === 'namespaced'));
    const ordered = [...idOps.filter((o) => o.method !== 'DELETE'), ...idOps.filter((o) => o.method === 'DELETE')];
    for (const o of ordered) {
      const path = await prepareControl(o, fillPath(o, B));
      const { body } = buildBody(o, 'own', B, B);
      const token = o.auth === 'user' ? tokenB : visitorB;
      const r = isMultipart(o)
        ? await call(o.method, path, { token, form: pngForm('x.png') })
        : await call(o.method, path, { token, ...(body !== undefined ? { body } : {}) });
      if (r.status < 200 || r.status >= 300) failures.push(`${label(o)} as B: expected 2xx, got ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect(ordered.length).toBeGreaterThan(25);
  });
});
