import { maskPii } from './pii-mask.ts';
import type { ChatMessage } from './openai-compatible.ts';
import type { LlmChatOptions, LlmPurpose } from './llm.service.ts';

/**
 * The prompts the bot sends to an LLM. Each masks PII first (the service masks again: it is the one door)
 * and each returns null when the LLM is not configured, the feature is off or the provider failed, so the
 * caller falls back to the offline engine. Outputs are checked, never trusted: a grounded answer must cite
 * a passage it was given, an intent must be one of the names offered.
 */

/** The subset of LlmService the tasks use (tests can pass a stub). */
export interface LlmChat {
  chat(workspaceId: string, purpose: LlmPurpose, messages: ChatMessage[], opts?: LlmChatOptions): Promise<{ text: string } | null>;
}

export interface Passage {
  id: string;
  title: string;
  text: string;
}
export type TranscriptLine = { from: 'customer' | 'bot' | 'agent'; text: string };

/** What the model must answer, exactly, when the passages do not contain the answer. */
export const NO_ANSWER = 'NO_ANSWER';
const MAX_PASSAGE_CHARS = 1_500;
const MAX_TRANSCRIPT_LINES = 40;

const mask = (s: string) => maskPii(s).text;

/** Numbered passages "[1] title\ntext", the format the prompts (and the test fake) rely on. */
export function formatPassages(passages: Passage[]): string {
  return passages.map((p, i) => `[${i + 1}] ${mask(oneLine(p.title))}\n${mask(p.text.trim().slice(0, MAX_PASSAGE_CHARS))}`).join('\n\n');
}

const GROUNDED_SYSTEM = [
  'You are a customer-service assistant. Answer the customer ONLY with facts stated in the numbered passages.',
  'Reply in the same language as the customer\'s question. Be brief and friendly.',
  'Cite every passage you use with its number in square brackets, like [1] or [2].',
  'Never invent or guess policies, prices, dates, deadlines, phone numbers or links that are not in the passages.',
  `If the passages do not contain the answer, reply with exactly ${NO_ANSWER} and nothing else.`,
  'Masked values such as 138****8000 are intentional; never try to reconstruct them.',
].join('\n');

export async function groundedAnswer(
  llm: LlmChat,
  workspaceId: string,
  question: string,
  passages: Passage[],
  opts?: LlmChatOptions,
): Promise<{ text: string; sourceIds: string[] } | { refused: true } | null> {
  // Nothing retrieved → nothing to ground on; don't even ask.
  if (passages.length === 0) return { refused: true };
  const user = `Passages:\n${formatPassages(passages)}\n\nQuestion: ${mask(question.trim())}`;
  const r = await llm.chat(workspaceId, 'answer', [{ role: 'system', content: GROUNDED_SYSTEM }, { role: 'user', content: user }], { temperature: 0, maxTokens: 500, ...opts });
  if (!r) return null;
  const text = r.text.trim();
  if (text === '' || text.replace(/[\s.。"'`*]/g, '').toUpperCase() === NO_ANSWER || text.includes(NO_ANSWER)) return { refused: true };
  const cited = new Set<number>();
  for (const m of text.matchAll(/\[(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\]/g)) {
    for (const n of m[1]!.split(/[,，、]/)) cited.add(Number(n.trim()));
  }
  const sourceIds = [...cited].filter((n) => n >= 1 && n <= passages.length).sort((a, b) => a - b).map((n) => passages[n - 1]!.id);
  // An answer citing nothing we gave it is not grounded: treat as a refusal rather than risk an invention.
  if (sourceIds.length === 0) return { refused: true };
  // The customer sees no bracket numbers; the caller shows the sources as links.
  const clean = text.replace(/\s*\[(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\]/g, '').trim();
  return { text: clean, sourceIds };
}

export async function summarizeConversation(llm: LlmChat, workspaceId: string, transcript: TranscriptLine[], opts?: LlmChatOptions): Promise<string | null> {
  if (transcript.length === 0) return null;
  const lines = transcript.slice(-MAX_TRANSCRIPT_LINES).map((l) => `${l.from}: ${mask(oneLine(l.text))}`).join('\n');
  const zh = isMostlyChinese(transcript.map((l) => l.text).join(''));
  const system = zh
    ? '你在为接手对话的人工客服写交接摘要。用中文，最多3句：客户想要什么、已经提供了什么信息、机器人做了什么、还有什么没解决。只写对话中出现的事实，不要编造。'
    : 'Write a handoff summary for the human agent taking over this conversation. At most 3 sentences in English: what the customer wants, what they already provided, what the bot did, what is unresolved. Only facts from the conversation; invent nothing.';
  const r = await llm.chat(workspaceId, 'summary', [{ role: 'system', content: system }, { role: 'user', content: lines }], { temperature: 0.2, maxTokens: 200, ...opts });
  const text = r?.text.trim();
  return text ? text : null;
}

export async function classifyIntent(
  llm: LlmChat,
  workspaceId: string,
  text: string,
  intents: Array<{ name: string; description: string; examples: string[] }>,
  opts?: LlmChatOptions,
): Promise<{ intent: string | null } | null> {
  if (intents.length === 0) return { intent: null };
  const list = intents
    .map((i) => `- ${i.name}: ${oneLine(i.description)}${i.examples.length ? ` (e.g. ${i.examples.slice(0, 3).map((e) => `"${mask(oneLine(e))}"`).join(', ')})` : ''}`)
    .join('\n');
  const system = [
    'Classify the customer message into exactly one of the intents below, or none.',
    'Reply with only the intent name, copied exactly, or the word NONE when no intent fits well.',
    `Intents:\n${list}`,
  ].join('\n');
  const r = await llm.chat(workspaceId, 'intent', [{ role: 'system', content: system }, { role: 'user', content: mask(text) }], { temperature: 0, maxTokens: 20, ...opts });
  if (!r) return null;
  const answer = r.text.trim().replace(/^["'`*\s]+|["'`*.。\s]+$/g, '');
  // Only a name we offered counts; anything else (NONE, chatter, a made-up intent) is "no intent".
  const exact = intents.find((i) => i.name === answer) ?? intents.find((i) => i.name.toLowerCase() === answer.toLowerCase());
  return { intent: exact?.name ?? null };
}

export async function suggestReplies(llm: LlmChat, workspaceId: string, transcript: TranscriptLine[], passages: Passage[], opts?: LlmChatOptions): Promise<string[] | null> {
  if (transcript.length === 0) return null;
  const lines = transcript.slice(-MAX_TRANSCRIPT_LINES).map((l) => `${l.from}: ${mask(oneLine(l.text))}`).join('\n');
  const system = [
    'You help a customer-service agent. Propose up to 3 short replies the agent could send next, in the customer\'s language.',
    'Use only facts from the passages and the conversation; never invent policies, prices or dates.',
    'Write one reply per line, without numbering or quotes.',
  ].join('\n');
  const user = `${passages.length ? `Passages:\n${formatPassages(passages)}\n\n` : ''}Conversation:\n${lines}`;
  const r = await llm.chat(workspaceId, 'suggestion', [{ role: 'system', content: system }, { role: 'user', content: user }], { temperature: 0.4, maxTokens: 400, ...opts });
  if (!r) return null;
  return r.text
    .split('\n')
    .map((l) => l.replace(/^\s*(?:[-*•]|\d+[.)、])\s*/, '').replace(/\s*\[\d+\]/g, '').trim())
    .filter((l) => l.length > 0 && l !== NO_ANSWER)
    .slice(0, 3);
}

export async function translate(llm: LlmChat, workspaceId: string, text: string, targetLang: string, opts?: LlmChatOptions): Promise<string | null> {
  if (!text.trim()) return text;
  const system = `Translate the user's message into ${targetLang}. Reply with the translation only. Keep masked values such as 138****8000, links and order numbers unchanged.`;
  const r = await llm.chat(workspaceId, 'translation', [{ role: 'system', content: system }, { role: 'user', content: mask(text) }], { temperature: 0, maxTokens: 1000, ...opts });
  const out = r?.text.trim();
  return out ? out : null;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function isMostlyChinese(s: string): boolean {
  const han = (s.match(/[\u3400-\u9fff]/g) ?? []).length;
  const latin = (s.match(/[A-Za-z]+/g) ?? []).length;
  return han >= latin;
}
