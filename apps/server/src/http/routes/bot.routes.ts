import { z } from 'zod';
import {
  BotAnalytics, BotAnalyticsQuery, BotConversationState, BotIntent, BotSettings, BotTrainingReport, CreateBotIntentBody, EntityDefinition,
  MisrecognizedMessage, PutEntitiesBody, ReplySuggestion, ResolveMisrecognizedBody, SimulateBody, SimulateResult, UpdateBotIntentBody, UpdateBotSettingsBody,
} from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

const tags = ['bot'];

export const botRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/bot/settings', summary: 'The bot settings (inboxes where it answers first, messages, handoff thresholds)', tags, auth: 'user', response: BotSettings, handler: ({ actor }) => s.bot.settings.get(actor) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/bot/settings', summary: 'Change the bot settings', tags, auth: 'user', body: UpdateBotSettingsBody, response: BotSettings, handler: ({ actor, body }) => s.bot.settings.update(actor, body) }),

  defineRoute({ method: 'GET', url: '/api/v1/bot/intents', summary: 'Intents with their example utterances', tags, auth: 'user', response: z.array(BotIntent), handler: ({ actor }) => s.bot.training.listIntents(actor) }),
  defineRoute({ method: 'POST', url: '/api/v1/bot/intents', summary: 'Create an intent (retrain to use it)', tags, auth: 'user', body: CreateBotIntentBody, response: BotIntent, status: 201, handler: ({ actor, body }) => s.bot.training.createIntent(actor, body) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/bot/intents/:id', summary: 'Change an intent or its examples (retrain to use them)', tags, auth: 'user', params: IdParams, body: UpdateBotIntentBody, response: BotIntent, handler: ({ actor, params, body }) => s.bot.training.updateIntent(actor, params.id, body) }),
  defineRoute({ method: 'DELETE', url: '/api/v1/bot/intents/:id', summary: 'Delete an intent', tags, auth: 'user', params: IdParams, response: null, handler: ({ actor, params }) => s.bot.training.removeIntent(actor, params.id) }),
  defineRoute({ method: 'POST', url: '/api/v1/bot/train', summary: 'Train the intent model on the examples now and cross-validate it (accuracy per intent, confusions, misses)', tags, auth: 'user', response: BotTrainingReport, rateLimit: 20, handler: ({ actor }) => s.bot.training.trainNow(actor) }),
  defineRoute({ method: 'GET', url: '/api/v1/bot/training-report', summary: 'The report of the last training', tags, auth: 'user', response: BotTrainingReport, handler: ({ actor }) => s.bot.training.report(actor) }),
  defineRoute({ method: 'GET', url: '/api/v1/bot/entities', summary: 'Workspace entities: enums with synonyms and regular expressions', tags, auth: 'user', response: z.object({ entities: z.array(EntityDefinition) }), handler: ({ actor }) => s.bot.training.getEntities(actor) }),
  defineRoute({ method: 'PUT', url: '/api/v1/bot/entities', summary: 'Replace the workspace entities', tags, auth: 'user', body: PutEntitiesBody, response: z.object({ entities: z.array(EntityDefinition) }), handler: ({ actor, body }) => s.bot.training.putEntities(actor, body.entities) }),
  defineRoute({ method: 'GET', url: '/api/v1/bot/misrecognized', summary: 'Customer messages the bot did not understand, newest first', tags, auth: 'user', response: z.array(MisrecognizedMessage), handler: ({ actor }) => s.bot.misrecognized(actor) }),
  defineRoute({ method: 'POST', url: '/api/v1/bot/misrecognized/:id/resolve', summary: 'Add a misrecognized message as an example of an intent, or dismiss it', tags, auth: 'user', params: IdParams, body: ResolveMisrecognizedBody, response: null, handler: ({ actor, params, body }) => s.bot.resolveMisrecognized(actor, params.id, body.intent) }),

  defineRoute({ method: 'POST', url: '/api/v1/bot/simulate', summary: 'Chat with the bot (published flows, or a flow draft) without a customer; pass the returned sessionId to continue', tags, auth: 'user', body: SimulateBody, response: SimulateResult, rateLimit: 120, handler: ({ actor, body }) => s.bot.simulate(actor, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/bot/analytics', summary: 'Containment rate, handoff reasons, top intents', tags, auth: 'user', query: BotAnalyticsQuery, response: BotAnalytics, handler: ({ actor, query }) => s.bot.analytics(actor, query.days) }),

  defineRoute({ method: 'GET', url: '/api/v1/conversations/:id/bot', summary: 'What the bot knows about the conversation: intent, slots, sentiment, handoff reason and summary', tags, auth: 'user', params: IdParams, response: BotConversationState, handler: ({ actor, params }) => s.bot.conversationState(actor, params.id) }),
  defineRoute({ method: 'GET', url: '/api/v1/conversations/:id/suggestions', summary: 'Suggested replies for the last customer message: knowledge base, canned responses, LLM drafts', tags, auth: 'user', params: IdParams, response: z.array(ReplySuggestion), rateLimit: 120, handler: ({ actor, params }) => s.bot.suggestions(actor, params.id) }),
];
