/**
 * The knowledge base through the real server: FAQ CRUD and search by paraphrase, imports of every fixture
 * format (multipart upload, progress polled until done), re-import updating instead of duplicating, clear
 * errors for wrong files, permissions (agents search but cannot edit) and tenant isolation.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { one } from '@huiliu/core/db/database';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type World } from './helpers/world.ts';

let t: TestServer;
let w: World;
let other: World;

const fixture = (name: string) => readFileSync(new URL(`./fixtures/kb/${name}`, import.meta.url));

beforeAll(async () => {
  t = await startTestServer({ seed: false });
  w = await createWorld(t, 1, 'kb');
  other = await createWorld(t, 0, 'kb-other');
});
afterAll(() => t?.close());

/** Uploads are rate limited per client and token (10 a minute): a new admin session for each group of uploads. */
let admins = 0;
async function freshAdmin(workspaceId = w.workspaceId): Promise<string> {
  const s = t.node.services;
  const email = `kbadmin${++admins}@kb.example`;
  await s.db.transaction((tx) => s.users.createActive(tx, workspaceId, { email, name: `KB admin ${admins}`, password: 'Kb-Import-Passw0rd', role: 'admin' }));
  return (await s.users.login({ email, password: 'Kb-Import-Passw0rd' }, { ip: '127.0.0.1' })).token;
}

async function upload(token: string, data: Uint8Array | string, name: string) {
  const form = new FormData();
  form.append('file', new Blob([typeof data === 'string' ? data : new Uint8Array(data)]), name);
  return t.api('POST', '/api/v1/kb/imports', { token, form });
}

/** Polls the import until it finishes, recording the progress seen on the way. */
async function finished(token: string, id: string): Promise<{ final: any; seen: number[] }> {
  const seen: number[] = [];
  const final = await until(async () => {
    const r = await t.api('GET', `/api/v1/kb/imports/${id}`, { token });
    expect(r.status).toBe(200);
    seen.push(r.body.processed);
    return r.body.status === 'done' || r.body.status === 'failed' ? r.body : undefined;
  }, `import ${id} to finish`, 30_000);
  return { final, seen };
}

const search = (token: string, query: string, extra: Record<string, unknown> = {}) => t.api('POST', '/api/v1/kb/search', { token, body: { query, ...extra } });

describe('knowledge base', () => {
  it('creates FAQ entries and finds them by a paraphrase, with confidence and snippet', async () => {
    const create = (body: Record<string, unknown>) => t.api('POST', '/api/v1/kb/entries', { token: w.admin, body });
    const faq = await create({
      kind: 'faq', title: '怎么修改绑定的手机号？', similarQuestions: ['手机号换了怎么办', '更换手机号码'],
      body: '进入“账户设置 › 安全中心”，点击“更换手机号”，验证旧手机或身份证后绑定新号码。', category: '账户', tags: ['账户'],
    });
    expect(faq.status).toBe(201);
    expect(faq.body).toMatchObject({ kind: 'faq', title: '怎么修改绑定的手机号？', similarQuestions: ['手机号换了怎么办', '更换手机号码'], category: '账户', locale: 'zh-CN', enabled: true, importId: null });
    const other1 = await create({ kind: 'faq', title: '会员等级有什么权益？', body: '金卡会员享受包邮和生日礼券，钻石会员另有专属客服。', category: '会员' });
    expect(other1.status).toBe(201);
    const en = await create({ kind: 'faq', title: 'How do I reset my password?', similarQuestions: ['forgot password'], body: 'Click "Forgot password" on the sign-in page and follow the email link.', locale: 'en' });
    expect(en.status).toBe(201);

    const hits = await search(w.admin, '我的手机号码换了，怎么改');
    expect(hits.status).toBe(200);
    expect(hits.body[0].entry.id).toBe(faq.body.id);
    expect(hits.body[0].confidence).toBeGreaterThan(0);
    expect(hits.body[0].confidence).toBeLessThanOrEqual(1);
    expect(hits.body[0].snippet).toContain('更换手机号');

    const english = await search(w.admin, 'I forgot my password, how can I reset it?', { locale: 'en' });
    expect(english.body[0].entry.id).toBe(en.body.id);

    // Changes are visible at once: edit, then search by the new words; disable hides; delete removes.
    const patched = await t.api('PATCH', `/api/v1/kb/entries/${other1.body.id}`, { token: w.admin, body: { similarQuestions: ['黑金会员能享受什么'] } });
    expect(patched.status).toBe(200);
    expect(patched.body.similarQuestions).toEqual(['黑金会员能享受什么']);
    expect((await search(w.admin, '黑金会员享受什么')).body[0].entry.id).toBe(other1.body.id);
    await t.api('PATCH', `/api/v1/kb/entries/${other1.body.id}`, { token: w.admin, body: { enabled: false } });
    expect((await search(w.admin, '黑金会员享受什么')).body.map((h: any) => h.entry.id)).not.toContain(other1.body.id);
    expect((await t.api('DELETE', `/api/v1/kb/entries/${other1.body.id}`, { token: w.admin })).status).toBe(204);
    expect((await t.api('GET', `/api/v1/kb/entries/${other1.body.id}`, { token: w.admin })).status).toBe(404);

    const bad = await create({ kind: 'faq', title: '', body: 'x' });
    expect(bad.status).toBe(400);

    // The bot runtime's answer: the entry, its whole answer and a confidence.
    const answer = await t.node.services.knowledge.answer(w.workspaceId, '手机号换了怎么办');
    expect(answer?.entry.id).toBe(faq.body.id);
    expect(answer?.snippet).toBe(faq.body.body);
  });

  it('imports every fixture format with progress, and a re-import updates instead of duplicating', async () => {
    const admin = await freshAdmin();
    const expected: Record<string, { entries: number; titles: string[]; query: string; answerHas: string }> = {
      'faq.csv': { entries: 10, titles: ['怎么申请退货？', '退款多久能到账？'], query: '退货的话运费是谁出', answerHas: '运费' },
      'faq.xlsx': { entries: 10, titles: ['会员积分怎么使用？'], query: '积分可以抵钱吗', answerHas: '积分' },
      'guide.md': { entries: 5, titles: ['退换货政策', '退货条件', '退款时效', '换货流程', '不支持退换的商品'], query: '退款要几天才能到账', answerHas: '' },
      'guide.html': { entries: 5, titles: ['退款时效'], query: '换货的运费谁承担', answerHas: '运费' },
      'guide.docx': { entries: 5, titles: ['换货流程'], query: '定制商品可以退吗', answerHas: '定制' },
      'guide.pdf': { entries: 4, titles: ['Returns and Refunds Policy', 'Refund timing'], query: 'how long does a refund take', answerHas: 'business days' },
    };
    for (const [file, want] of Object.entries(expected)) {
      const r = await upload(admin, fixture(file), file);
      expect(r.status, `${file}: ${JSON.stringify(r.body)}`).toBe(202);
      expect(r.body).toMatchObject({ fileName: file, format: file.split('.')[1], status: 'queued', total: want.entries, processed: 0 });
      const { final, seen } = await finished(admin, r.body.id);
      expect(final, file).toMatchObject({ status: 'done', total: want.entries, processed: want.entries, errors: [] });
      expect(final.created + final.updated).toBe(want.entries);
      expect(final.finishedAt).not.toBeNull();
      // Progress only moves forward
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      for (const title of want.titles) {
        const listed = await t.api('GET', `/api/v1/kb/entries?q=${encodeURIComponent(title)}&limit=200`, { token: admin });
        expect(listed.body.items.map((e: any) => e.title), `${file}: ${title}`).toContain(title);
      }
      if (file === 'guide.md' || file === 'guide.html') {
        // Images and links stay Markdown (the DOCX drops embedded images); the HTML page's scripts and nav are gone.
        const articles = (await t.api('GET', '/api/v1/kb/entries?kind=article&limit=200', { token: admin })).body.items;
        expect(articles.find((e: any) => e.title === '退货条件').body, file).toContain('![退货流程示意图](https://help.example.com/img/return-flow.png)');
        expect(JSON.stringify(articles)).not.toContain('首页');
      }
      const hits = await search(admin, want.query);
      expect(hits.body.length, `${file}: ${want.query}`).toBeGreaterThan(0);
      if (want.answerHas) expect(hits.body.slice(0, 3).map((h: any) => `${h.entry.title} ${h.entry.body}`).join(' '), `${file}: ${want.query}`).toContain(want.answerHas);
    }

    // faq.csv (GBK, Chinese headers) and faq.xlsx (English headers) hold the same questions: the xlsx updated them.
    const csvImport = await one(t.node.services.db, `SELECT created, updated FROM kb_imports WHERE workspace_id = $1 AND file_name = 'faq.csv'`, [w.workspaceId]);
    const xlsxImport = await one(t.node.services.db, `SELECT created, updated FROM kb_imports WHERE workspace_id = $1 AND file_name = 'faq.xlsx'`, [w.workspaceId]);
    expect(csvImport).toMatchObject({ created: 10, updated: 0 });
    expect(xlsxImport).toMatchObject({ created: 0, updated: 10 });
    const faq = (await t.api('GET', `/api/v1/kb/entries?q=${encodeURIComponent('怎么申请退货？')}`, { token: admin })).body.items.find((e: any) => e.title === '怎么申请退货？');
    expect(faq).toMatchObject({ kind: 'faq', category: '售后服务', tags: ['退货'], similarQuestions: ['如何退货', '我要退货怎么操作', '退货流程是什么'] });

    // The articles of guide.md, guide.html and guide.docx share titles: each import updated the same five.
    const articles = (await t.api('GET', '/api/v1/kb/entries?kind=article&limit=200', { token: admin })).body.items;
    expect(articles.filter((e: any) => e.title === '退货条件')).toHaveLength(1);
    expect(articles.find((e: any) => e.title === '不支持退换的商品').body).toContain('[售后服务中心](https://help.example.com/after-sales)');
    expect(JSON.stringify(articles)).not.toContain('不应出现在知识库里');

    // Re-import of the same sheet: the same 10 entries are updated, none added.
    const before = (await t.api('GET', '/api/v1/kb/entries?kind=faq', { token: admin })).body.total;
    const again = await upload(admin, fixture('faq.csv'), 'faq.csv');
    const { final } = await finished(admin, again.body.id);
    expect(final).toMatchObject({ status: 'done', created: 0, updated: 10 });
    expect((await t.api('GET', '/api/v1/kb/entries?kind=faq', { token: admin })).body.total).toBe(before);

    const categories = await t.api('GET', '/api/v1/kb/categories', { token: admin });
    expect(categories.body).toEqual(expect.arrayContaining(['售后服务', '物流配送', '退换货政策']));
    const list = await t.api('GET', '/api/v1/kb/imports', { token: admin });
    expect(list.body.length).toBeGreaterThanOrEqual(7);
  });

  it('reports bad rows and refuses wrong files with a clear 4xx naming the file and what is expected', async () => {
    const admin = await freshAdmin();
    const rows = await upload(admin, 'question,answer,category\n有答案的问题？,这是答案,测试\n没有答案的问题？,,测试\n', 'partial.csv');
    expect(rows.status).toBe(202);
    const { final } = await finished(admin, rows.body.id);
    expect(final).toMatchObject({ status: 'done', total: 1, created: 1 });
    expect(final.errors).toEqual([{ where: 'row 3', message: expect.stringContaining('answer') }]);

    const columns = await upload(admin, 'foo,bar\n1,2\n', 'wrong.csv');
    expect(columns.status).toBe(400);
    expect(columns.body.error.message).toContain('wrong.csv');
    expect(columns.body.error.message).toContain('"foo", "bar"');
    expect(columns.body.error.message).toContain('问题 (question)');

    const zipAsCsv = await upload(admin, fixture('faq.xlsx'), 'faq.csv');
    expect(zipAsCsv.status).toBe(415);
    expect(zipAsCsv.body.error.message).toContain('zip');

    const corrupt = await upload(admin, Buffer.from('%PDF-1.4\nthis is not really a pdf'), 'broken.pdf');
    expect(corrupt.status).toBe(400);
    expect(corrupt.body.error.message).toContain('broken.pdf');

    const notDocx = await upload(admin, 'plain text', 'notes.docx');
    expect(notDocx.status).toBe(415);
    expect(notDocx.body.error.message).toContain('.docx');

    const exe = await upload(admin, 'MZ', 'setup.exe');
    expect(exe.status).toBe(415);
    expect(exe.body.error.message).toContain('.csv');

    const admin2 = await freshAdmin();
    const big = await upload(admin2, Buffer.alloc(5 * 1024 * 1024 + 1, 0x61), 'huge.md');
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain('5 MB');

    const queued = await one(t.node.services.db, `SELECT count(*)::int AS n FROM kb_imports WHERE workspace_id = $1 AND status IN ('queued', 'running')`, [w.workspaceId]);
    expect(queued!.n).toBe(0);
  });

  it('agents search but cannot edit or import; another workspace sees nothing', async () => {
    const agent = w.agents[0]!.token;
    const denied = await t.api('POST', '/api/v1/kb/entries', { token: agent, body: { kind: 'faq', title: '代理能建吗？', body: '不能' } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('bot.manage');
    expect((await upload(agent, fixture('faq.csv'), 'faq.csv')).status).toBe(403);
    expect((await t.api('GET', '/api/v1/kb/imports', { token: agent })).status).toBe(403);
    const found = await search(agent, '手机号换了怎么办');
    expect(found.status).toBe(200);
    expect(found.body[0].entry.title).toBe('怎么修改绑定的手机号？');
    expect((await t.api('GET', '/api/v1/kb/entries', { token: agent })).status).toBe(200);

    const foreign = await search(other.admin, '手机号换了怎么办');
    expect(foreign.status).toBe(200);
    expect(foreign.body).toEqual([]);
    expect((await t.api('GET', '/api/v1/kb/entries', { token: other.admin })).body).toEqual({ items: [], total: 0 });
    const id = found.body[0].entry.id;
    expect((await t.api('GET', `/api/v1/kb/entries/${id}`, { token: other.admin })).status).toBe(404);
    expect((await t.api('PATCH', `/api/v1/kb/entries/${id}`, { token: other.admin, body: { title: 'x' } })).status).toBe(404);
    expect((await t.api('DELETE', `/api/v1/kb/entries/${id}`, { token: other.admin })).status).toBe(404);
    expect(await t.node.services.knowledge.answer(other.workspaceId, '手机号换了怎么办')).toBeNull();
  });
});
