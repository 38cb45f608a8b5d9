/**
 * Contacts CSV import through the real server: upload (multipart), poll the import until it is done,
 * then check counts, row errors, updated vs created contacts, the encodings, the limits, resuming after
 * a restart of the job queue, and tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { one } from '@huiliu/core/db/database';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type World } from './helpers/world.ts';

let t: TestServer;
let w: World;

beforeAll(async () => {
  t = await startTestServer({ seed: false });
  w = await createWorld(t, 1, 'import');
});
afterAll(() => t?.close());

function csvForm(content: string | Uint8Array, name = 'contacts.csv'): FormData {
  const form = new FormData();
  form.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: 'text/csv' }), name);
  return form;
}

async function upload(token: string, content: string | Uint8Array, name?: string) {
  return t.api('POST', '/api/v1/contacts/imports', { token, form: csvForm(content, name) });
}

async function finished(token: string, id: string): Promise<any> {
  return until(async () => {
    const r = await t.api('GET', `/api/v1/contacts/imports/${id}`, { token });
    expect(r.status).toBe(200);
    return r.body.status === 'done' || r.body.status === 'failed' ? r.body : undefined;
  }, `import ${id} to finish`, 20_000);
}

/**
 * A new admin session of the workspace: uploads are rate limited per client and token (10 a minute),
 * and this file uploads more than that.
 */
let admins = 0;
async function freshAdmin(): Promise<string> {
  const s = t.node.services;
  const email = `admin${++admins}@import.example`;
  await s.db.transaction((tx) => s.users.createActive(tx, w.workspaceId, { email, name: `Importer ${admins}`, password: 'Import-Passw0rd-1', role: 'admin' }));
  return (await s.users.login({ email, password: 'Import-Passw0rd-1' }, { ip: '127.0.0.1' })).token;
}

async function contactByEmail(workspaceId: string, email: string) {
  return one(t.node.services.db, `SELECT * FROM contacts WHERE workspace_id = $1 AND email = $2`, [workspaceId, email]);
}

async function contactCount(workspaceId: string): Promise<number> {
  return Number((await one(t.node.services.db, `SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1`, [workspaceId]))!.n);
}

describe('contacts CSV import', () => {
  it('creates new contacts, updates ones matched by email then phone, and reports bad rows by spreadsheet row', async () => {
    const byEmail = await t.api('POST', '/api/v1/contacts', { token: w.admin, body: { name: 'Old Name', email: 'known@example.com', tags: ['old'], attributes: { tier: 'gold' } } });
    const byPhone = await t.api('POST', '/api/v1/contacts', { token: w.admin, body: { name: 'Phone Person', phone: '+86 138 0013 8000' } });
    expect(byEmail.status).toBe(201);
    expect(byPhone.status).toBe(201);
    const before = await contactCount(w.workspaceId);

    const csv = [
      '\uFEFFName,Email,Phone,Tags,Company,城市', // row 1: header (UTF-8 BOM, mixed case)
      'Alice Zhang,alice@example.com,,vip;beta,ACME,上海', // row 2: new
      'Known Renamed,KNOWN@example.com,,new|old,,北京', // row 3: matches by email (case-insensitive)
      'Phone Renamed,,+8613800138000,,Phone Co,', // row 4: matches by phone digits
      'Bad Email,not-an-email,,,,', // row 5: bad email
      ',,,,,', // row 6: blank → skipped, not counted
      ',,,lonely-tag,Some Co,', // row 7: no name, email or phone
      'Alice Again,alice@example.com,,gamma,,杭州', // row 8: same email as row 2 → updates that new contact
      'Bad Phone,,call me,,,', // row 9: bad phone
      '"Quoted, Name",quoted@example.com,,,"line1\nline2",', // row 10: quotes, comma and newline inside values
      'Too,many,fields,here,x,y,z', // row 11: more fields than the header
    ].join('\r\n');
    const r = await upload(w.admin, csv, 'my contacts.csv');
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'queued', fileName: 'my contacts.csv', total: 9, processed: 0, created: 0, updated: 0, failed: 0, errors: [], finishedAt: null });
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);

    const done = await finished(w.admin, r.body.id);
    expect(done).toMatchObject({ status: 'done', total: 9, processed: 9, created: 2, updated: 3, failed: 4 });
    expect(done.finishedAt).not.toBeNull();
    expect(done.errors.map((e: any) => e.row)).toEqual([5, 7, 9, 11]);
    expect(done.errors[0].message).toMatch(/^email: /);
    expect(done.errors[1].message).toContain('no name, email or phone');
    expect(done.errors[2].message).toMatch(/^phone: /);
    expect(done.errors[3].message).toContain('7 fields but the header has 6 columns');
    // Row errors never echo the rejected email / phone
    expect(JSON.stringify(done.errors)).not.toContain('not-an-email');
    expect(JSON.stringify(done.errors)).not.toContain('call me');

    // Exactly two contacts were created (alice, quoted); the matches were updated, not duplicated.
    expect(await contactCount(w.workspaceId)).toBe(before + 2);
    const alice = (await contactByEmail(w.workspaceId, 'alice@example.com'))!;
    expect(alice.name).toBe('Alice Again');
    expect(alice.tags).toEqual(['vip', 'beta', 'gamma']);
    expect(alice.attributes).toEqual({ Company: 'ACME', 城市: '杭州' });
    const known = await t.api('GET', `/api/v1/contacts/${byEmail.body.id}`, { token: w.admin });
    expect(known.body).toMatchObject({ name: 'Known Renamed', email: 'known@example.com', tags: ['old', 'new'], attributes: { tier: 'gold', 城市: '北京' } });
    const phone = await t.api('GET', `/api/v1/contacts/${byPhone.body.id}`, { token: w.admin });
    expect(phone.body).toMatchObject({ name: 'Phone Renamed', phone: '+8613800138000', attributes: { Company: 'Phone Co' } });
    const quoted = (await contactByEmail(w.workspaceId, 'quoted@example.com'))!;
    expect(quoted.name).toBe('Quoted, Name');
    expect(quoted.attributes).toEqual({ Company: 'line1\nline2' });
    // Imported contacts are searchable like any other
    const found = await t.api('GET', `/api/v1/contacts?q=${encodeURIComponent('Alice')}`, { token: w.admin });
    expect(found.body.items.map((c: any) => c.id)).toContain(alice.id);
  });

  it('reads GBK files (what Excel in China saves) with Chinese column names', async () => {
    // 姓名,邮箱,电话,标签,城市 / 张三,zhangsan@example.com,13800138000,重要客户;北京,上海 — encoded as GBK
    const gbk = Buffer.from(
      'd0d5c3fb2cd3cacfe42cb5e7bbb02cb1eac7a92cb3c7cad00d0ad5c5c8fd2c7a68616e6773616e406578616d706c652e636f6d2c31333830303133383030302cd6d8d2aabfcdbba73bb1b1bea92cc9cfbaa30d0a',
      'hex',
    );
    const r = await upload(w.admin, gbk, '客户.csv');
    expect(r.status).toBe(202);
    const done = await finished(w.admin, r.body.id);
    expect(done).toMatchObject({ status: 'done', total: 1, created: 1, failed: 0, fileName: '客户.csv' });
    const c = (await contactByEmail(w.workspaceId, 'zhangsan@example.com'))!;
    expect(c).toMatchObject({ name: '张三', phone: '13800138000', tags: ['重要客户', '北京'], attributes: { 城市: '上海' } });
  });

  it('refuses files it cannot import with a clear 4xx, naming the header, the encoding or the limit', async () => {
    const admin = await freshAdmin();
    const header = await upload(admin, 'foo,bar\n1,2\n');
    expect(header.status).toBe(400);
    expect(header.body.error.code).toBe('validation_failed');
    expect(header.body.error.message).toContain('"foo", "bar"');
    expect(header.body.error.message).toContain('no name, email or phone column');
    expect(header.body.error.issues[0].path).toBe('body.file');

    const latin1 = await upload(admin, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x0a, 0xff, 0xfe, 0xfd, 0x0a]));
    expect(latin1.status).toBe(400);
    expect(latin1.body.error.message).toContain('neither UTF-8 nor GBK');

    const utf16 = await upload(admin, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('name\nx\n', 'utf16le')]));
    expect(utf16.status).toBe(400);
    expect(utf16.body.error.message).toContain('UTF-16');

    const xlsx = await upload(admin, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00, 0x08]), 'contacts.xlsx');
    expect(xlsx.status).toBe(415);
    expect(xlsx.body.error.message).toContain('Excel');

    const admin2 = await freshAdmin();
    const rows = await upload(admin2, 'name\n' + Array.from({ length: 50_001 }, (_, i) => `n${i}`).join('\n'));
    expect(rows.status).toBe(400);
    expect(rows.body.error.message).toContain('50,000');

    const big = await upload(admin2, Buffer.alloc(10 * 1024 * 1024 + 1, 0x61));
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain('10 MB');

    const headerOnly = await upload(admin2, 'name,email\n');
    expect(headerOnly.status).toBe(400);
    expect(headerOnly.body.error.message).toContain('no contact rows');

    const broken = await upload(admin2, 'name,email\n"unclosed,a@example.com\n');
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toContain('not valid CSV');

    const json = await t.api('POST', '/api/v1/contacts/imports', { token: await freshAdmin(), body: { file: 'x' } });
    expect(json.status).toBe(415);
    // Nothing was queued for any of them
    const queued = await one(t.node.services.db, `SELECT count(*)::int AS n FROM contact_imports WHERE workspace_id = $1 AND status IN ('queued', 'running')`, [w.workspaceId]);
    expect(queued!.n).toBe(0);
  });

  it('needs contact.manage; without contact.pii existing emails and phones are only filled, never replaced', async () => {
    const s = t.node.services;
    const role = await t.api('POST', '/api/v1/roles', { token: w.admin, body: { name: 'contact-viewer', permissions: ['contact.read'] } });
    expect(role.status).toBe(201);
    const viewer = await s.db.transaction((tx) => s.users.createActive(tx, w.workspaceId, { email: 'viewer@import.example', name: 'Viewer', password: 'Viewer-Passw0rd-1', role: 'contact-viewer' }));
    const viewerToken = (await s.users.login({ email: viewer.email, password: 'Viewer-Passw0rd-1' }, { ip: '127.0.0.1' })).token;
    expect((await upload(viewerToken, 'name\nx\n')).status).toBe(403);

    // The agent role has contact.manage but not contact.pii
    await t.api('POST', '/api/v1/contacts', { token: w.admin, body: { name: 'Pii Person', email: 'pii@example.com', phone: '+8613900000000' } });
    await t.api('POST', '/api/v1/contacts', { token: w.admin, body: { name: 'No Phone', email: 'nophone@example.com' } });
    const agent = w.agents[0]!.token;
    const r = await upload(agent, 'name,email,phone\nPii Renamed,pii@example.com,+8613911111111\nNo Phone,nophone@example.com,+8613922222222\n');
    expect(r.status).toBe(202);
    expect(await finished(agent, r.body.id)).toMatchObject({ status: 'done', updated: 2, created: 0 });
    expect(await contactByEmail(w.workspaceId, 'pii@example.com')).toMatchObject({ name: 'Pii Renamed', phone: '+8613900000000' });
    expect(await contactByEmail(w.workspaceId, 'nophone@example.com')).toMatchObject({ phone: '+8613922222222' });
  });

  it('resumes after a restart from the rows already applied, in batches', async () => {
    // The queue is stopped, so the import waits; then we record that a first run had applied (and
    // counted) the first 500 rows before the process died, and start the queue again.
    await t.node.jobs.stop();
    const lines = Array.from({ length: 1_200 }, (_, i) => `Resume ${i},resume${i}@example.com`);
    const admin = await freshAdmin();
    const r = await upload(admin, `name,email\n${lines.join('\n')}\n`);
    expect(r.status).toBe(202);
    expect(r.body.total).toBe(1_200);
    await t.node.services.db.query(`UPDATE contact_imports SET processed = 500, created = 500 WHERE id = $1`, [r.body.id]);
    await t.node.jobs.start();
    const done = await finished(admin, r.body.id);
    expect(done).toMatchObject({ status: 'done', total: 1_200, processed: 1_200, created: 1_200, failed: 0 });
    // Rows 1-500 were skipped (already applied by the "first run"), the rest imported exactly once.
    expect(await contactByEmail(w.workspaceId, 'resume0@example.com')).toBeUndefined();
    expect(await contactByEmail(w.workspaceId, 'resume499@example.com')).toBeUndefined();
    expect(await contactByEmail(w.workspaceId, 'resume500@example.com')).toBeDefined();
    const n = await one(t.node.services.db, `SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND email LIKE 'resume%'`, [w.workspaceId]);
    expect(n!.n).toBe(700);
    // The uploaded file is deleted once the import is finished
    const row = await one(t.node.services.db, `SELECT storage_key FROM contact_imports WHERE id = $1`, [r.body.id]);
    expect(row!.storage_key).toBeNull();
  });

  it("another workspace's import id is not found (no existence leak)", async () => {
    const admin = await freshAdmin();
    const r = await upload(admin, 'name\nIsolated Person\n');
    await finished(admin, r.body.id);
    const other = await createWorld(t, 0, 'import-b');
    const foreign = await t.api('GET', `/api/v1/contacts/imports/${r.body.id}`, { token: other.admin });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const random = await t.api('GET', `/api/v1/contacts/imports/${crypto.randomUUID()}`, { token: other.admin });
    expect(foreign.body).toEqual(random.body);
    // and its contacts stay in the first workspace
    expect(await contactByEmail(other.workspaceId, 'alice@example.com')).toBeUndefined();
  });
});
