import { randomBytes } from 'node:crypto';
import type { Database } from '@huiliu/core/db/database';
import { one } from '@huiliu/core/db/database';
import { createWorkspace } from '@huiliu/core/workspaces/workspace.service';
import type { Services } from '../services.ts';

export interface DemoCredentials {
  workspace: string;
  adminEmail: string;
  agentEmails: string[];
  password: string;
  widgetInboxPublicId: string;
  workspaceId: string;
  /** Admin and agents, in that order. */
  userIds: string[];
  /** The demo inbox where the AI bot answers first (seeded by app.ts on a real first start, see seed-bot.ts). */
  botInboxPublicId?: string;
}

/** True when the database has no workspace yet (a fresh installation). */
export async function isEmpty(db: Database): Promise<boolean> {
  const r = await one(db, `SELECT count(*) AS n FROM workspaces`);
  return Number(r?.n ?? 0) === 0;
}

/**
 * The demo workspace of a first embedded start: an admin, two agents, a web-widget inbox, contacts and
 * past conversations (Chinese and English) so the console has something to show. One random password,
 * printed once by the caller, is shared by the three demo users.
 */
export async function seedDemo(s: Services): Promise<DemoCredentials> {
  const password = randomBytes(9).toString('base64url');
  const { db } = s;
  const created = await db.transaction(async (tx) => {
    const ws = await createWorkspace(tx, { name: 'Huiliu Demo 汇流演示', slug: 'demo' });
    const admin = await s.users.createActive(tx, ws.id, { email: 'admin@demo.huiliu.local', name: 'Admin 管理员', password, role: 'admin' });
    const li = await s.users.createActive(tx, ws.id, { email: 'li.na@demo.huiliu.local', name: '李娜', password, role: 'agent' });
    const tom = await s.users.createActive(tx, ws.id, { email: 'tom@demo.huiliu.local', name: 'Tom Baker', password, role: 'agent' });
    const inbox = await one(
      tx,
      `INSERT INTO inboxes (workspace_id, name, channel_type, public_id, allowed_origins, widget)
       VALUES ($1, '官网在线客服 Website chat', 'web', $2, '{}', $3) RETURNING id, public_id`,
      [ws.id, randomBytes(12).toString('base64url'), JSON.stringify({ color: '#1677ff', greeting: '您好，有什么可以帮您？ Hi! How can we help?', position: 'right', preChatForm: false, locale: 'auto' })],
    );
    for (const u of [admin, li, tom]) {
      await tx.query(`INSERT INTO inbox_members (workspace_id, inbox_id, user_id) VALUES ($1, $2, $3)`, [ws.id, inbox!.id, u.id]);
    }
    const team = await one(tx, `INSERT INTO teams (workspace_id, name, description) VALUES ($1, '售后 After-sales', 'Returns, refunds, delivery') RETURNING id`, [ws.id]);
    for (const u of [li, tom]) await tx.query(`INSERT INTO team_members (workspace_id, team_id, user_id) VALUES ($1, $2, $3)`, [ws.id, team!.id, u.id]);
    for (const [code, content] of [
      ['hello', '您好 {{contact.name}}，我是 {{agent.name}}，很高兴为您服务。'],
      ['thanks', 'Thank you for contacting us, {{contact.name}}! Is there anything else I can help with?'],
      ['refund', '退款将在 3-5 个工作日内原路退回，请留意银行通知。'],
    ] as const) {
      await tx.query(`INSERT INTO canned_responses (workspace_id, short_code, content, created_by) VALUES ($1, $2, $3, $4)`, [ws.id, code, content, admin.id]);
    }
    return { ws, admin, li, tom, inboxId: inbox!.id as string, publicId: inbox!.public_id as string };
  });

  const system = { kind: 'system' as const, workspaceId: created.ws.id, via: 'system' as const };
  const stories: { name: string; email: string | null; tags: string[]; agent: typeof created.li | null; status: 'open' | 'resolved' | 'pending'; lines: [string, string][] }[] = [
    { name: '王小明', email: 'xiaoming.wang@example.com', tags: ['vip'], agent: created.li, status: 'open', lines: [['c', '你好，我的订单号是 HL20261118001，什么时候发货？'], ['a', '您好王先生，您的订单已打包，预计今天下午发货。'], ['c', '好的，谢谢！能开发票吗？']] },
    { name: 'Emily Chen', email: 'emily@example.com', tags: [], agent: created.tom, status: 'open', lines: [['c', 'Hi, I was charged twice for order HL20261117042. Can you refund one of them?'], ['a', 'Sorry about that, Emily. I can see the duplicate charge and have started the refund.']] },
    { name: '张伟', email: null, tags: ['退货'], agent: null, status: 'open', lines: [['c', '收到的耳机左边没有声音，想申请退货。']] },
    { name: 'Carlos Ruiz', email: 'carlos@example.com', tags: [], agent: created.tom, status: 'resolved', lines: [['c', 'Do you ship to Spain?'], ['a', 'Yes, we ship to Spain within 7–10 business days.'], ['c', 'Great, thanks!']] },
    { name: '刘芳', email: 'liufang@example.com', tags: ['企业客户'], agent: created.li, status: 'pending', lines: [['c', '我们公司想批量采购 200 台，有优惠吗？'], ['a', '您好，批量采购可以享受企业价，我请销售同事联系您。']] },
  ];
  for (const story of stories) {
    const identity = await db.transaction((tx) =>
      s.contacts.resolveIdentity(tx, {
        workspaceId: created.ws.id, inboxId: created.inboxId, channelType: 'web', sourceId: `demo_${randomBytes(8).toString('hex')}`, verified: false,
        contact: { name: story.name, email: story.email },
      }),
    );
    if (story.tags.length) await db.query(`UPDATE contacts SET tags = $2 WHERE id = $1`, [identity.contactId, story.tags]);
    const conversation = await db.transaction((tx) => s.conversations.create(tx, { workspaceId: created.ws.id, inboxId: created.inboxId, ...identity }));
    if (story.agent) await db.query(`UPDATE conversations SET assignee_id = $2 WHERE id = $1`, [conversation.id, story.agent.id]);
    for (const [who, text] of story.lines) {
      await s.pipeline.append({
        workspaceId: created.ws.id, conversationId: conversation.id, scope: {},
        direction: who === 'c' ? 'incoming' : 'outgoing', private: false,
        senderType: who === 'c' ? 'contact' : 'user', senderId: who === 'c' ? identity.contactId : (story.agent?.id ?? null),
        identityId: who === 'c' ? identity.identityId : null, contentType: 'text', text,
      });
    }
    if (story.status !== 'open') await s.conversations.update(system, conversation.id, { status: story.status });
  }
  return {
    workspace: 'demo',
    adminEmail: created.admin.email,
    agentEmails: [created.li.email, created.tom.email],
    password,
    widgetInboxPublicId: created.publicId,
    workspaceId: created.ws.id,
    userIds: [created.admin.id, created.li.id, created.tom.id],
  };
}
