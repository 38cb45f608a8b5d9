import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { openPglite } from '../src/db/pglite.ts';
import { createTextSegmenter, MAX_DOCUMENT_TOKENS, MAX_TOKEN_CHARS } from '../src/search/segmenter.ts';
import { createTextIndex, searchDocument, searchQuery } from '../src/search/tsquery.ts';

const seg = createTextSegmenter();

describe('segmenter', () => {
  it('cuts Chinese in search mode for documents and accurate mode for queries', () => {
    const doc = seg.tokens('我的订单号是多少');
    expect(doc).toEqual(expect.arrayContaining(['订单', '单号', '订单号', '多少']));
    expect(seg.tokens('我的订单号是多少', 'query')).toEqual(['我', '的', '订单号', '是', '多少']);
  });

  it('lowercases, folds full-width forms and drops punctuation, whitespace and emoji', () => {
    expect(seg.tokens('Hello, ＷＯＲＬＤ！ １２３ 😀 … \t\n')).toEqual(['hello', 'world', '123']);
  });

  it('keeps order numbers, phone numbers and e-mail parts', () => {
    const tokens = seg.tokens('Order A12345-678, call +86 138-0013-8000, mail Foo.Bar@Example.com');
    expect(tokens).toEqual(
      expect.arrayContaining(['a12345', '678', 'a12345678', '86', '138', '0013', '13800138000', 'foo', 'bar', 'example', 'com']),
    );
  });

  it('caps tokens per document and token length', () => {
    const huge = Array.from({ length: 6_000 }, (_, i) => `w${i}`).join(' ');
    expect(seg.tokens(huge)).toHaveLength(MAX_DOCUMENT_TOKENS);
    expect(searchDocument(seg, huge, 'tail').split(' ')).toHaveLength(MAX_DOCUMENT_TOKENS);
    expect(seg.tokens('x'.repeat(5_000))[0]).toHaveLength(MAX_TOKEN_CHARS);
  });

  it('joins the parts of a document and skips empty ones', () => {
    expect(searchDocument(seg, '客服', null, undefined, '', 'kf@example.com', '客服')).toBe('客服 客 服 kf example com');
  });
});

describe('searchQuery', () => {
  it('ANDs quoted tokens and prefix-matches the last Latin token', () => {
    expect(searchQuery(seg, 'Refu')).toBe("'refu':*");
    expect(searchQuery(seg, '退款 refu')).toBe("'退款' & 'refu':*");
    expect(searchQuery(seg, 'refu 订单')).toBe("'refu':* & '订单'");
    expect(searchQuery(seg, '订单号')).toBe("'订单号'");
  });

  it('returns null when nothing is searchable', () => {
    for (const q of ['', '   ', '?!.,;:', "' & | ! : ( ) * \\", '？！。，、', '😀👍']) expect(searchQuery(seg, q)).toBeNull();
  });

  it('never lets tsquery syntax through', () => {
    expect(searchQuery(seg, "it's (a&b)|!c:*")).toBe("'it' & 's' & 'a' & 'b' & 'c':*");
  });
});

describe('full-text search on PGlite', () => {
  let db: Database;
  let workspaceId: string;
  const index = createTextIndex(seg);

  const messages = [
    '我的订单号是多少',
    '什么时候发货？',
    'Refund request for order A12345-678, e-mail Foo.Bar@Example.com',
    '头发护理套装',
    "It's (a & b) | !c: done*",
  ];

  /** Texts of the messages matching `q`, in insertion order. */
  async function find(q: string): Promise<string[]> {
    const tsquery = index.query(q);
    if (tsquery === null) return [];
    const rows = await db.query<{ text: string }>(
      `SELECT text FROM messages WHERE workspace_id = $1 AND search @@ to_tsquery('simple', $2) ORDER BY seq`,
      [workspaceId, tsquery],
    );
    return rows.map((r) => r.text);
  }

  beforeAll(async () => {
    db = await openPglite(undefined);
    await migrate(db);
    const [ws] = await db.query<{ id: string }>(`INSERT INTO workspaces (name, slug) VALUES ('Test', 'test') RETURNING id`);
    workspaceId = ws!.id;
    const [inbox] = await db.query<{ id: string }>(
      `INSERT INTO inboxes (workspace_id, name, channel_type, public_id) VALUES ($1, 'Web', 'web', 'pub-1') RETURNING id`,
      [workspaceId],
    );
    const [contact] = await db.query<{ id: string }>(
      `INSERT INTO contacts (workspace_id, name, email, phone, search)
       VALUES ($1, '王小明', 'Xiaoming.Wang@Example.com', '+86 138-0013-8000', to_tsvector('simple', $2)) RETURNING id`,
      [workspaceId, index.document('王小明', 'Xiaoming.Wang@Example.com', '+86 138-0013-8000')],
    );
    const [identity] = await db.query<{ id: string }>(
      `INSERT INTO contact_identities (workspace_id, contact_id, inbox_id, channel_type, source_id)
       VALUES ($1, $2, $3, 'web', 'visitor-1') RETURNING id`,
      [workspaceId, contact!.id, inbox!.id],
    );
    const [conversation] = await db.query<{ id: string }>(
      `INSERT INTO conversations (workspace_id, display_id, inbox_id, contact_id, identity_id)
       VALUES ($1, 1, $2, $3, $4) RETURNING id`,
      [workspaceId, inbox!.id, contact!.id, identity!.id],
    );
    for (const [i, text] of messages.entries()) {
      await db.query(
        `INSERT INTO messages (workspace_id, inbox_id, conversation_id, seq, direction, sender_type, text, search)
         VALUES ($1, $2, $3, $4, 'incoming', 'contact', $5, to_tsvector('simple', $6))`,
        [workspaceId, inbox!.id, conversation!.id, i + 1, text, index.document(text)],
      );
    }
  });

  afterAll(async () => {
    await db?.close();
  });

  it('finds 我的订单号是多少 by 订单, 订单号 and 单号', async () => {
    for (const q of ['订单', '订单号', '单号', '多少订单']) expect(await find(q), q).toEqual(['我的订单号是多少']);
  });

  it('finds 什么时候发货 by 发货', async () => {
    expect(await find('发货')).toEqual(['什么时候发货？']);
    expect(await find('时候发货')).toEqual(['什么时候发货？']);
  });

  it('matches a single Chinese character anywhere, like Ctrl-F (documented choice)', async () => {
    // 发 is in 发货 and in 头发: a one-character query is a character search, not a word search.
    expect(await find('发')).toEqual(['什么时候发货？', '头发护理套装']);
    // Two characters forming a word match by word: 头发 does not hit 发货.
    expect(await find('头发')).toEqual(['头发护理套装']);
  });

  it('matches Latin words case-insensitively, the last one as a prefix', async () => {
    const refund = messages[2];
    for (const q of ['refu', 'REFUND', 'Refund Req', 'order a12345', 'A12345-678', 'a12345678', 'foo.bar@example.com', 'foo.bar@exa'])
      expect(await find(q), q).toEqual([refund]);
    expect(await find('refund 发货')).toEqual([]);
    expect(await find('refunds')).toEqual([]);
  });

  it('finds contacts by name, e-mail and phone', async () => {
    const contactsMatching = async (q: string) => {
      const rows = await db.query<{ name: string }>(
        `SELECT name FROM contacts WHERE workspace_id = $1 AND search @@ to_tsquery('simple', $2)`,
        [workspaceId, index.query(q)],
      );
      return rows.map((r) => r.name);
    };
    for (const q of ['王小明', '小明', 'xiaoming', 'xiaoming.wang@example.com', '13800138000', '138', '0013-8000'])
      expect(await contactsMatching(q), q).toEqual(['王小明']);
    expect(await contactsMatching('李')).toEqual([]);
  });

  it('runs hostile input without an SQL or tsquery error', async () => {
    const hostile = [
      "'",
      "a' | 'b",
      "refund & !",
      'a:*',
      '(refund',
      'refund)',
      '!refund',
      'foo\\bar',
      "' OR 1=1 --",
      "订单'&|!:()*",
      '<->',
      'a <-> b',
      "'' :* '",
      '\u0000',
    ];
    for (const q of hostile) await expect(find(q), q).resolves.toBeInstanceOf(Array);
    expect(await find("(a & b) | !c: done*")).toEqual([messages[4]]);
  });
});
