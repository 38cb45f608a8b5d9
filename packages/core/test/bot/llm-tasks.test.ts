import { describe, expect, it } from 'vitest';
import { classifyIntent, groundedAnswer, suggestReplies, translate, type LlmChat } from '../../src/bot/llm/llm-tasks.ts';
import type { ChatMessage } from '../../src/bot/llm/openai-compatible.ts';

/** A scripted LLM that records what it was sent. */
function stub(answer: string | null) {
  const sent: ChatMessage[][] = [];
  const llm: LlmChat = {
    async chat(_ws, _purpose, messages) {
      sent.push(messages);
      return answer === null ? null : { text: answer };
    },
  };
  return { llm, sent };
}
const passages = [
  { id: 'a', title: '退货政策', text: '收到商品7天内可以无理由退货。' },
  { id: 'b', title: '运费', text: '退货运费由买家承担。' },
];

describe('llm tasks', () => {
  it('grounded answers map citations back to passage ids and strip the brackets', async () => {
    const { llm, sent } = stub('7天内可以退货[1]，运费由您承担[2]。');
    expect(await groundedAnswer(llm, 'w', '能退货吗? 我的电话13800138000', passages)).toEqual({ text: '7天内可以退货，运费由您承担。', sourceIds: ['a', 'b'] });
    const prompt = sent[0]!.map((m) => m.content).join('\n');
    expect(prompt).toContain('[1] 退货政策');
    expect(prompt).toContain('138****8000');
    expect(prompt).not.toContain('13800138000');
  });

  it('refuses on the refusal token, on uncited answers and on citations of passages it was not given', async () => {
    expect(await groundedAnswer(stub('NO_ANSWER').llm, 'w', 'q', passages)).toEqual({ refused: true });
    expect(await groundedAnswer(stub('Our warranty is 2 years.').llm, 'w', 'q', passages)).toEqual({ refused: true });
    expect(await groundedAnswer(stub('See [7].').llm, 'w', 'q', passages)).toEqual({ refused: true });
    const none = stub('x');
    expect(await groundedAnswer(none.llm, 'w', 'q', [])).toEqual({ refused: true });
    expect(none.sent).toHaveLength(0);
    expect(await groundedAnswer(stub(null).llm, 'w', 'q', passages)).toBeNull();
  });

  it('intent classification accepts only offered names', async () => {
    const intents = [{ name: 'refund', description: 'refund request', examples: ['I want my money back'] }];
    expect(await classifyIntent(stub(' "refund". ').llm, 'w', 'money back please', intents)).toEqual({ intent: 'refund' });
    expect(await classifyIntent(stub('NONE').llm, 'w', 'hi', intents)).toEqual({ intent: null });
    expect(await classifyIntent(stub('cancel_order').llm, 'w', 'cancel', intents)).toEqual({ intent: null });
    expect(await classifyIntent(stub(null).llm, 'w', 'cancel', intents)).toBeNull();
  });

  it('suggestions are split into at most three clean lines; translation masks first', async () => {
    expect(await suggestReplies(stub('1. 您好，7天内可以退货 [1]\n- 运费由买家承担\n\n3) 还有其他问题吗？\n4. extra').llm, 'w', [{ from: 'customer', text: '退货' }], passages))
      .toEqual(['您好，7天内可以退货', '运费由买家承担', '还有其他问题吗？']);
    const t = stub('My phone is 138****8000');
    expect(await translate(t.llm, 'w', '我的电话是13800138000', 'English')).toBe('My phone is 138****8000');
    expect(t.sent[0]!.at(-1)!.content).toBe('我的电话是138****8000');
  });
});
