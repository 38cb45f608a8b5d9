import type { FlowDocument } from '@huiliu/contracts';
import { API_DOWN_MESSAGE } from './flow-engine.ts';

/**
 * The example flow shipped with the product: "查询订单" (order status).
 *
 * The order API it calls: GET {orderApiUrl}/orders/{id} →
 *   200 { "status": "shipped" | "delivered" | "pending" | …, "trackingNumber"?: string, "carrier"?: string }
 *   404 when there is no such order; anything else (or no answer in 5 s) counts as the API being down.
 *
 *   ask_order ──► lookup ──► answer ──► is_shipped ──► shipped ─────────────────► done
 *       ▲            │ (error)              └──────► not_shipped ► follow_up ► follow_up_branch ─► urge ► done
 *       │            ▼                                                                  └─► to_agent (handoff)
 *   clear_order ◄ not_found ◄ check_error (404) ──► api_down (handoff "api_unreachable")
 *
 * "查询订单 A123456789" pre-fills order_id from the order_number entity, so the ask is skipped.
 */
export function orderStatusFlow(orderApiUrl: string): FlowDocument {
  const base = orderApiUrl.replace(/\/+$/, '');
  const col = 300;
  const side = 900;
  const row = (n: number) => n * 140;
  return {
    triggers: { intents: ['query_order'], phrases: ['查询订单', '查订单', '我的订单', 'order status'] },
    start: 'ask_order',
    steps: [
      {
        id: 'ask_order', type: 'ask', position: { x: col, y: row(0) },
        slot: 'order_id', entity: 'order_number',
        prompt: '请提供您的订单号',
        retryPrompt: '没有识别到订单号，请重新输入（例如 A123456789）',
        maxAttempts: 3,
        next: 'lookup',
      },
      {
        id: 'lookup', type: 'http', position: { x: col, y: row(1) },
        method: 'GET', url: `${base}/orders/{{order_id}}`,
        headers: { accept: 'application/json' },
        timeoutMs: 5_000,
        responseMap: { status: 'status', tracking_number: 'trackingNumber', carrier: 'carrier' },
        next: 'answer',
        onError: 'check_error',
      },
      { id: 'answer', type: 'message', position: { x: col, y: row(2) }, text: '您的订单{{order_id}}状态为:{{status}}', next: 'is_shipped' },
      {
        id: 'is_shipped', type: 'branch', position: { x: col, y: row(3) },
        cases: [{ when: [{ variable: 'status', op: 'in', value: ['shipped', 'delivered', '已发货', '已签收'] }], next: 'shipped' }],
        otherwise: 'not_shipped',
      },
      {
        id: 'shipped', type: 'message', position: { x: col - 200, y: row(4) },
        text: '您的包裹已发出，{{carrier}}快递单号:{{tracking_number}}，可凭单号查询物流进度。',
        next: 'done',
      },
      { id: 'not_shipped', type: 'message', position: { x: col + 200, y: row(4) }, text: '您的订单还未发货，预计48小时内发货。', next: 'follow_up' },
      {
        id: 'follow_up', type: 'ask', position: { x: col + 200, y: row(5) },
        slot: 'follow_up', prompt: '需要为您催发货，还是转人工客服？',
        quickReplies: ['催发货', '转人工'],
        maxAttempts: 3,
        next: 'follow_up_branch',
      },
      {
        id: 'follow_up_branch', type: 'branch', position: { x: col + 200, y: row(6) },
        cases: [
          { when: [{ variable: 'follow_up', op: 'contains', value: '催' }], next: 'urge' },
          { when: [{ variable: 'follow_up', op: 'contains', value: '人工' }], next: 'to_agent' },
        ],
        otherwise: 'done',
      },
      { id: 'urge', type: 'message', position: { x: col + 100, y: row(7) }, text: '已为您催促仓库尽快发货，请耐心等待。', next: 'done' },
      {
        id: 'to_agent', type: 'handoff', position: { x: col + 350, y: row(7) },
        reason: 'customer_request',
        message: '正在为您转接人工客服，请稍候。',
        summary: '客户查询订单{{order_id}}（状态:{{status}}），未发货，要求人工处理',
      },
      { id: 'done', type: 'end', position: { x: col, y: row(8) }, message: '还有其他问题随时告诉我。' },
      {
        id: 'check_error', type: 'branch', position: { x: side, y: row(1) },
        cases: [{ when: [{ variable: 'http_status', op: 'eq', value: 404 }], next: 'not_found' }],
        otherwise: 'api_down',
      },
      { id: 'not_found', type: 'message', position: { x: side, y: row(2) }, text: '没有找到这个订单（{{order_id}}），请核对后重新输入。', next: 'clear_order' },
      // Empty the slot, or the ask would be skipped (its slot is still filled) and the lookup would repeat.
      { id: 'clear_order', type: 'set', position: { x: side, y: row(3) }, assign: { order_id: '' }, next: 'ask_order' },
      {
        id: 'api_down', type: 'handoff', position: { x: side + 250, y: row(2) },
        reason: 'api_unreachable',
        message: API_DOWN_MESSAGE,
        summary: '订单查询接口不可用（HTTP {{http_status}}），客户订单号:{{order_id}}',
      },
    ],
  };
}
