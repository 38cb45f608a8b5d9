import { randomBytes } from 'node:crypto';
import { one } from '@huiliu/core/db/database';
import { orderStatusFlow } from '@huiliu/core/bot/dialog/order-status-flow';
import type { Services } from '../services.ts';

/**
 * The AI bot of the demo workspace: its own web inbox ("智能客服演示", so the plain demo inbox still goes
 * straight to the agents), intents with examples, the 查询订单 flow calling the demo order API that this
 * server itself serves at /demo/api/orders/:id (see http/static.ts), FAQ entries, and a trained model.
 * The demo workspace's network allowlist admits localhost for that call — a real workspace would list its
 * own order system instead.
 */

const INTENTS: Record<string, { description: string; examples: string[] }> = {
  query_order: {
    description: '查询订单状态 / order status',
    examples: ['我的订单到哪了', '帮我查一下订单', '订单什么时候到', '查询订单状态', '我想看看我的订单', '快递到哪里了', '我买的东西发货了吗', '查物流', 'where is my order', 'track my package', 'has my order shipped'],
  },
  return_goods: {
    description: '退货退款 / returns and refunds',
    examples: ['我要退货', '这个商品怎么退', '申请退货退款', '东西不想要了能退吗', '退货流程是什么', '质量有问题我要退', '怎么办理退货', 'I want to return this', 'how do I get a refund', 'return an item'],
  },
  invoice: {
    description: '发票 / invoices',
    examples: ['怎么开发票', '我需要发票', '发票什么时候寄', '可以开专票吗', '发票抬头写错了', '电子发票在哪里下载', '帮我开个发票', 'I need an invoice', 'can you send me the invoice'],
  },
  change_address: {
    description: '修改收货地址 / change the delivery address',
    examples: ['我要改收货地址', '地址填错了', '修改配送地址', '能换个地址送吗', '收货地址怎么改', '帮我改一下地址', '更换收件地址', 'change my shipping address', 'wrong address on my order'],
  },
  shipping_time: {
    description: '发货与配送时间 / shipping times',
    examples: ['多久发货', '什么时候能发货', '几天能到', '配送要多长时间', '今天下单明天能到吗', '发什么快递', 'how long does shipping take', 'when will you ship'],
  },
};

const FAQ: Array<{ title: string; similarQuestions: string[]; body: string; category: string }> = [
  { title: '退款多久到账？', similarQuestions: ['退款什么时候到账', '退款需要几天', '钱什么时候退回来'], body: '退款审核通过后 1–3 个工作日原路退回，信用卡可能需要 3–7 个工作日，请留意银行通知。', category: '售后' },
  { title: '如何申请退货？', similarQuestions: ['怎么退货', '退货流程', '东西不想要了怎么退'], body: '签收 7 天内可在「我的订单 → 申请售后」提交退货，审核通过后按页面地址寄回，我们收到后 48 小时内处理。', category: '售后' },
  { title: '多久发货？', similarQuestions: ['什么时候发货', '下单后多久发出'], body: '现货商品 48 小时内发货，预售商品以商品页标注的时间为准。', category: '物流' },
  { title: '可以开发票吗？', similarQuestions: ['怎么开发票', '能开专票吗', '电子发票'], body: '可以。下单时选择「开具发票」即可开电子普通发票；增值税专用发票请联系人工客服提供开票信息。', category: '发票' },
  { title: '支持哪些快递？', similarQuestions: ['发什么快递', '能发顺丰吗'], body: '默认发中通和韵达，江浙沪包邮；需要顺丰请在备注中说明，补差价即可。', category: '物流' },
  { title: 'Do you ship internationally?', similarQuestions: ['international shipping', 'can you ship abroad'], body: 'Yes — we ship to most countries within 7–15 business days. Duties are paid by the recipient.', category: 'Shipping' },
];

export async function seedDemoBot(s: Services, input: { workspaceId: string; userIds: string[]; orderApiUrl: string }): Promise<{ inboxPublicId: string }> {
  const { db } = s;
  const system = { kind: 'system' as const, workspaceId: input.workspaceId, via: 'system' as const };
  const inbox = await db.transaction(async (tx) => {
    const row = await one(
      tx,
      `INSERT INTO inboxes (workspace_id, name, channel_type, public_id, allowed_origins, widget)
       VALUES ($1, '智能客服演示 AI bot demo', 'web', $2, '{}', $3) RETURNING id, public_id`,
      [input.workspaceId, randomBytes(12).toString('base64url'), JSON.stringify({ color: '#13a8a8', greeting: '您好，我是智能助手小汇 🤖 试试「查询订单」', position: 'right', preChatForm: false, locale: 'auto' })],
    );
    for (const userId of input.userIds) await tx.query(`INSERT INTO inbox_members (workspace_id, inbox_id, user_id) VALUES ($1, $2, $3)`, [input.workspaceId, row!.id, userId]);
    await tx.query(
      `UPDATE workspaces SET settings = jsonb_set(settings, '{networkAllowlist}', $2::jsonb) WHERE id = $1`,
      [input.workspaceId, JSON.stringify(['localhost', '127.0.0.1'])],
    );
    for (const [name, intent] of Object.entries(INTENTS)) {
      await tx.query(`INSERT INTO bot_intents (workspace_id, name, description, examples) VALUES ($1, $2, $3, $4)`, [input.workspaceId, name, intent.description, intent.examples]);
    }
    return { id: row!.id as string, publicId: row!.public_id as string };
  });
  for (const f of FAQ) await s.knowledge.create(system, { kind: 'faq', ...f, tags: [], locale: /[\u4e00-\u9fff]/.test(f.title) ? 'zh-CN' : 'en', enabled: true });
  const flow = await s.flows.create(system, { name: '查询订单', description: '查订单状态，已发货给出单号，未发货可催单或转人工', draft: orderStatusFlow(input.orderApiUrl) });
  await s.flows.publish(system, flow.id);
  await s.bot.training.train(input.workspaceId);
  await s.bot.settings.update(system, { inboxIds: [inbox.id] });
  return { inboxPublicId: inbox.publicId };
}
