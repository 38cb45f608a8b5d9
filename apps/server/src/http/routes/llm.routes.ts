import { z } from 'zod';
import { LlmSettings, LlmUsageDay, UpdateLlmSettingsBody } from '@huiliu/contracts';
import { defineRoute } from '../route.ts';
import type { Services } from '../../services.ts';

const UsageQuery = z.strictObject({ days: z.coerce.number().int().min(1).max(365).default(30) });
const TestResult = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().nullable() });

/** The workspace's optional LLM provider (permission bot.manage). The API key is write-only. */
export const llmRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/bot/llm', summary: 'LLM provider settings (the API key is never returned; see hasApiKey)', tags: ['bot'], auth: 'user', response: LlmSettings, handler: ({ actor }) => s.llm.settings(actor) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/bot/llm', summary: 'Change the LLM provider: preset, base URL, models, API key (null removes it), features', tags: ['bot'], auth: 'user', body: UpdateLlmSettingsBody, response: LlmSettings, handler: ({ actor, body }) => s.llm.update(actor, body) }),
  defineRoute({ method: 'POST', url: '/api/v1/bot/llm/test', summary: 'Test the connection with one tiny request; answers ok, latency and the error code and message', tags: ['bot'], auth: 'user', response: TestResult, rateLimit: 20, handler: ({ actor }) => s.llm.test(actor) }),
  defineRoute({ method: 'GET', url: '/api/v1/bot/llm/usage', summary: 'Requests, failures, tokens and average latency per UTC day and purpose', tags: ['bot'], auth: 'user', query: UsageQuery, response: z.array(LlmUsageDay), handler: ({ actor, query }) => s.llm.usage(actor, query.days) }),
];
