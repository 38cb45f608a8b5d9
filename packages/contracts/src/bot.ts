import { z } from 'zod';
import { Id, Timestamp } from './entities.ts';

/**
 * The AI bot's API shapes (issue 7): settings, intents and entities, flows, the knowledge base, LLM providers,
 * the simulator, agent assist and analytics. One source of truth for the server, the console and the docs.
 */

// ---------------------------------------------------------------------------------------------------
// Settings

export const BotHandoffReason = z.enum(['customer_request', 'negative_sentiment', 'low_confidence', 'bot_failure', 'flow_action', 'business_rule']);
export type BotHandoffReason = z.infer<typeof BotHandoffReason>;

export const BotSettings = z.object({
  /** Inboxes where the bot answers first; conversations elsewhere go straight to routing. */
  inboxIds: z.array(Id),
  name: z.string().min(1).max(40).describe('Shown to customers as the sender of bot messages'),
  greeting: z.string().max(1000).nullable().describe('Sent when a conversation starts with the bot; null = none'),
  fallbackMessage: z.string().min(1).max(1000).describe('When the bot did not understand'),
  handoffMessage: z.string().min(1).max(1000).describe('Told to the customer when a human takes over'),
  /** Confidence under which an intent counts as not understood; null = the model's own calibrated threshold. */
  intentThreshold: z.number().min(0).max(1).nullable(),
  /** Hand over after this many consecutive turns the bot did not understand (0 = never for this reason). */
  lowConfidenceTurns: z.number().int().min(0).max(10),
  /** Hand over when a message's sentiment score (−1…1) falls to or below this; null = never for this reason. */
  negativeSentimentThreshold: z.number().min(-1).max(0).nullable(),
  /** Contacts with any of these tags go straight to a human (business rule, e.g. VIP). */
  vipTags: z.array(z.string().min(1).max(50)).max(20),
  /** Knowledge-base answers need at least this retrieval confidence (0…1); below it the bot says it does not know. */
  knowledgeThreshold: z.number().min(0).max(1),
  /** A flow waiting for the customer's answer ends after this many minutes of silence. */
  flowTimeoutMinutes: z.number().int().min(1).max(7 * 24 * 60),
  /** Order-number patterns (regular expressions) for the order_number entity; empty = the built-in pattern. */
  orderNumberPatterns: z.array(z.string().min(1).max(200)).max(10),
});
export type BotSettings = z.infer<typeof BotSettings>;
export const UpdateBotSettingsBody = BotSettings.partial().strict();

// ---------------------------------------------------------------------------------------------------
// Intents and entities (NLU training data)

const IntentName = z.string().regex(/^[\p{L}\p{N}_.:-]{1,64}$/u, 'letters, digits and _ . : - only, up to 64 characters');
const Example = z.string().trim().min(1, 'an example cannot be empty').max(500, 'an example is at most 500 characters');

export const BotIntent = z.object({
  id: Id,
  name: IntentName,
  description: z.string().max(500),
  examples: z.array(z.string()),
  updatedAt: Timestamp,
});
export type BotIntent = z.infer<typeof BotIntent>;
export const CreateBotIntentBody = z.strictObject({ name: IntentName, description: z.string().max(500).default(''), examples: z.array(Example).max(2000) });
export const UpdateBotIntentBody = CreateBotIntentBody.partial().strict();

export const EntityDefinition = z.discriminatedUnion('kind', [
  z.strictObject({
    name: IntentName,
    kind: z.literal('enum'),
    values: z.array(z.strictObject({ value: z.string().min(1).max(100), synonyms: z.array(z.string().min(1).max(100)).max(50) })).min(1).max(500),
  }),
  z.strictObject({ name: IntentName, kind: z.literal('regex'), pattern: z.string().min(1).max(300) }),
]);
export type EntityDefinitionInput = z.infer<typeof EntityDefinition>;
export const PutEntitiesBody = z.strictObject({ entities: z.array(EntityDefinition).max(100) });

export const TrainingIssue = z.object({ code: z.string(), intent: z.string().optional(), text: z.string().optional(), message: z.string() });
export const IntentQuality = z.object({
  intent: z.string(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int(),
});
/** The model in use and how well it does on its own examples (k-fold cross-validation): the admins' training loop. */
export const BotTrainingReport = z.object({
  status: z.enum(['untrained', 'trained', 'failed']),
  trainedAt: Timestamp.nullable(),
  examples: z.number().int(),
  intents: z.number().int(),
  trainSeconds: z.number().nullable(),
  threshold: z.number().nullable(),
  accuracy: z.number().nullable().describe('Cross-validated accuracy on the examples'),
  macroF1: z.number().nullable(),
  perIntent: z.array(IntentQuality),
  confusions: z.array(z.object({ expected: z.string(), predicted: z.string(), count: z.number().int() })),
  misses: z.array(z.object({ text: z.string(), expected: z.string(), predicted: z.string().nullable(), confidence: z.number() })),
  errors: z.array(TrainingIssue),
  warnings: z.array(TrainingIssue),
});
export type BotTrainingReport = z.infer<typeof BotTrainingReport>;

/** A real customer message the bot did not understand (or understood with low confidence): fix it by adding it as an example. */
export const MisrecognizedMessage = z.object({
  id: Id,
  conversationId: Id,
  text: z.string(),
  predictedIntent: z.string().nullable(),
  confidence: z.number(),
  createdAt: Timestamp,
});
export const ResolveMisrecognizedBody = z.strictObject({ intent: IntentName.nullable().describe('Add the text as an example of this intent; null = just dismiss') });

// ---------------------------------------------------------------------------------------------------
// Flows: multi-turn dialog as a state machine, stored as JSON and versioned

const StepId = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and - only, up to 40 characters');
const Variable = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,39}$/, 'a variable name like order_id');
const Template = z.string().max(2000).describe('Text with {{variable}} placeholders');
const Position = z.strictObject({ x: z.number(), y: z.number() }).optional().describe('Where the editor draws the step');

export const FlowCondition = z.strictObject({
  variable: Variable,
  op: z.enum(['eq', 'neq', 'contains', 'exists', 'not_exists', 'gt', 'lt', 'in']),
  value: z.union([z.string().max(500), z.number(), z.array(z.string().max(200)).max(50)]).optional(),
});

export const FlowStep = z.discriminatedUnion('type', [
  z.strictObject({
    id: StepId, type: z.literal('message'), position: Position,
    text: Template,
    quickReplies: z.array(z.string().min(1).max(40)).max(10).optional(),
    card: z.strictObject({ title: z.string().min(1).max(200), description: z.string().max(2000).optional(), imageUrl: z.string().max(2000).optional(), url: z.string().max(2000).optional() }).optional(),
    next: StepId.nullable().describe('null = the flow ends after this message'),
  }),
  z.strictObject({
    id: StepId, type: z.literal('ask'), position: Position,
    slot: Variable,
    prompt: Template,
    /** Fill the slot from this entity (built-in: order_number, phone, email, amount, datetime, cn_id; or a workspace entity); none = the whole answer. */
    entity: z.string().max(64).optional(),
    /** Extra validation of the answer (regular expression). */
    pattern: z.string().max(300).optional(),
    retryPrompt: Template.optional(),
    maxAttempts: z.number().int().min(1).max(10).default(3),
    quickReplies: z.array(z.string().min(1).max(40)).max(10).optional(),
    next: StepId,
    /** After maxAttempts wrong answers; default: hand off to a human. */
    onFail: StepId.optional(),
  }),
  z.strictObject({
    id: StepId, type: z.literal('http'), position: Position,
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    url: Template.describe('https://… with {{variables}} (URL-encoded when filled in)'),
    headers: z.record(z.string().max(100), Template).default({}).describe('Values may use {{secret.NAME}} from the vault'),
    body: Template.optional().describe('JSON text with {{variables}} (JSON-escaped when filled in)'),
    timeoutMs: z.number().int().min(100).max(30_000).default(5_000),
    /** variable ← JSON path into the response body, e.g. { status: "data.status" }. */
    responseMap: z.record(Variable, z.string().max(200)).default({}),
    next: StepId,
    /** On a network error, a timeout or a non-2xx status; default: apologize and hand off. */
    onError: StepId.optional(),
  }),
  z.strictObject({
    id: StepId, type: z.literal('branch'), position: Position,
    cases: z.array(z.strictObject({ when: z.array(FlowCondition).min(1).max(10).describe('all must hold'), next: StepId })).min(1).max(20),
    otherwise: StepId,
  }),
  z.strictObject({ id: StepId, type: z.literal('set'), position: Position, assign: z.record(Variable, Template), next: StepId }),
  z.strictObject({
    id: StepId, type: z.literal('handoff'), position: Position,
    reason: z.string().min(1).max(200),
    message: Template.optional(),
    teamId: Id.optional(),
    summary: Template.optional(),
  }),
  z.strictObject({ id: StepId, type: z.literal('end'), position: Position, message: Template.optional() }),
]);
export type FlowStep = z.infer<typeof FlowStep>;
export type FlowStepType = FlowStep['type'];

export const FlowDocument = z.strictObject({
  /** Intents that start this flow (and phrases that start it regardless of the model). */
  triggers: z.strictObject({ intents: z.array(IntentName).max(20), phrases: z.array(z.string().min(1).max(100)).max(50).default([]) }),
  start: StepId,
  steps: z.array(FlowStep).min(1).max(200),
});
export type FlowDocument = z.infer<typeof FlowDocument>;

export const BotFlow = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  /** The document being edited. */
  draft: FlowDocument,
  /** The version customers talk to (null: never published). */
  published: FlowDocument.nullable(),
  version: z.number().int().describe('Published version number, 0 before the first publish'),
  enabled: z.boolean(),
  updatedAt: Timestamp,
  publishedAt: Timestamp.nullable(),
});
export type BotFlow = z.infer<typeof BotFlow>;
export const CreateBotFlowBody = z.strictObject({ name: z.string().trim().min(1).max(100), description: z.string().max(500).default(''), draft: FlowDocument });
export const UpdateBotFlowBody = z.strictObject({ name: z.string().trim().min(1).max(100).optional(), description: z.string().max(500).optional(), draft: FlowDocument.optional(), enabled: z.boolean().optional() });
export const BotFlowVersion = z.object({ version: z.number().int(), document: FlowDocument, publishedAt: Timestamp, publishedBy: Id.nullable() });

// ---------------------------------------------------------------------------------------------------
// What the bot says and the simulator

export const BotReply = z.object({
  text: z.string(),
  quickReplies: z.array(z.string()),
  card: z.object({ title: z.string(), description: z.string().optional(), imageUrl: z.string().optional(), url: z.string().optional() }).nullable(),
  /** Knowledge-base answer: the article it came from. */
  source: z.object({ entryId: Id, title: z.string() }).nullable(),
});
export type BotReply = z.infer<typeof BotReply>;

export const BotTurnTrace = z.object({
  intent: z.string().nullable(),
  confidence: z.number(),
  entities: z.array(z.object({ entity: z.string(), value: z.union([z.string(), z.number()]), text: z.string() })),
  sentiment: z.number(),
  /** What the bot decided: flow step, knowledge answer, LLM answer, fallback, handoff. */
  action: z.string(),
  flow: z.object({ flowId: Id, step: z.string().nullable(), variables: z.record(z.string(), z.unknown()) }).nullable(),
});
export type BotTurnTrace = z.infer<typeof BotTurnTrace>;

export const SimulateBody = z.strictObject({
  text: z.string().min(1).max(2000),
  /** Continue a simulation (returned by the previous call); omit to start a new one. */
  sessionId: z.string().max(100).optional(),
  /** Run this flow's draft instead of the published flows. */
  flowId: Id.optional(),
});
export const SimulateResult = z.object({
  sessionId: z.string(),
  replies: z.array(BotReply),
  trace: BotTurnTrace,
  handoff: z.object({ reason: z.string(), summary: z.string() }).nullable(),
  ended: z.boolean(),
});
export type SimulateResult = z.infer<typeof SimulateResult>;

/** What the agent sees after a handoff (and while the bot is still talking). */
export const BotConversationState = z.object({
  status: z.enum(['bot', 'handed_off', 'none']),
  intent: z.string().nullable(),
  confidence: z.number().nullable(),
  slots: z.record(z.string(), z.unknown()),
  sentiment: z.object({ score: z.number(), trend: z.enum(['improving', 'worsening', 'stable']) }).nullable(),
  handoffReason: z.string().nullable(),
  summary: z.string().nullable(),
  flowId: Id.nullable(),
  flowStep: z.string().nullable(),
});
export type BotConversationState = z.infer<typeof BotConversationState>;

// ---------------------------------------------------------------------------------------------------
// Knowledge base

export const KbEntryKind = z.enum(['faq', 'article']);
export const KbEntry = z.object({
  id: Id,
  kind: KbEntryKind,
  /** FAQ: the question. Article: the title. */
  title: z.string(),
  similarQuestions: z.array(z.string()),
  /** FAQ answer or article body: Markdown (links and images allowed). */
  body: z.string(),
  category: z.string().nullable(),
  tags: z.array(z.string()),
  locale: z.string(),
  enabled: z.boolean(),
  importId: Id.nullable(),
  updatedAt: Timestamp,
});
export type KbEntry = z.infer<typeof KbEntry>;
const KbFields = {
  kind: KbEntryKind,
  title: z.string().trim().min(1).max(500),
  similarQuestions: z.array(z.string().trim().min(1).max(500)).max(100).default([]),
  body: z.string().min(1).max(200_000),
  category: z.string().trim().min(1).max(100).nullable().default(null),
  tags: z.array(z.string().trim().min(1).max(50)).max(20).default([]),
  locale: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a locale like zh-CN or en').default('zh-CN'),
  enabled: z.boolean().default(true),
};
export const CreateKbEntryBody = z.strictObject(KbFields);
export const UpdateKbEntryBody = z.strictObject(KbFields).partial();
export const ListKbQuery = z.strictObject({
  q: z.string().max(200).optional(),
  kind: KbEntryKind.optional(),
  category: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const KbImportFormat = z.enum(['csv', 'xlsx', 'md', 'html', 'pdf', 'docx']);
export const KbImport = z.object({
  id: Id,
  fileName: z.string(),
  format: KbImportFormat,
  status: z.enum(['queued', 'running', 'done', 'failed']),
  /** Units to process (rows of a sheet, sections of a document) and how many are done: the progress bar. */
  total: z.number().int(),
  processed: z.number().int(),
  created: z.number().int(),
  updated: z.number().int(),
  errors: z.array(z.object({ where: z.string(), message: z.string() })),
  createdAt: Timestamp,
  finishedAt: Timestamp.nullable(),
});
export type KbImport = z.infer<typeof KbImport>;

export const KbSearchBody = z.strictObject({ query: z.string().trim().min(1).max(1000), limit: z.number().int().min(1).max(20).default(5), locale: z.string().max(10).optional() });
export const KbSearchHit = z.object({ entry: KbEntry, score: z.number(), confidence: z.number(), snippet: z.string() });

// ---------------------------------------------------------------------------------------------------
// LLM provider (optional, OpenAI-compatible)

export const LlmPreset = z.enum(['deepseek', 'qwen', 'glm', 'doubao', 'openai', 'ollama', 'vllm', 'custom']);
export const LlmFeatures = z.strictObject({
  answers: z.boolean().describe('Answers grounded in retrieved knowledge'),
  intentFallback: z.boolean().describe('Ask the LLM when the offline model is unsure'),
  summaries: z.boolean().describe('Conversation summaries at handoff'),
  suggestions: z.boolean().describe('Reply suggestions for agents'),
  translation: z.boolean(),
});
export const LlmSettings = z.object({
  enabled: z.boolean(),
  preset: LlmPreset,
  baseUrl: z.string().nullable(),
  chatModel: z.string().nullable(),
  embeddingModel: z.string().nullable(),
  /** Whether an API key is stored (the key itself is never returned). */
  hasApiKey: z.boolean(),
  features: LlmFeatures,
});
export type LlmSettings = z.infer<typeof LlmSettings>;
export const UpdateLlmSettingsBody = z.strictObject({
  enabled: z.boolean().optional(),
  preset: LlmPreset.optional(),
  baseUrl: z.url({ message: 'an http(s) URL like https://api.deepseek.com/v1' }).max(500).nullable().optional(),
  chatModel: z.string().min(1).max(100).nullable().optional(),
  embeddingModel: z.string().min(1).max(100).nullable().optional(),
  /** Write-only; null removes the stored key. */
  apiKey: z.string().min(1).max(500).nullable().optional(),
  features: LlmFeatures.partial().optional(),
});
export const LlmUsageDay = z.object({ day: z.string(), purpose: z.string(), requests: z.number().int(), failures: z.number().int(), promptTokens: z.number().int(), completionTokens: z.number().int(), avgLatencyMs: z.number() });

// ---------------------------------------------------------------------------------------------------
// Agent assist and analytics

export const ReplySuggestion = z.object({
  kind: z.enum(['knowledge', 'canned', 'llm']),
  text: z.string(),
  title: z.string(),
  score: z.number(),
  entryId: Id.nullable(),
});
export type ReplySuggestion = z.infer<typeof ReplySuggestion>;

export const BotAnalyticsQuery = z.strictObject({ days: z.coerce.number().int().min(1).max(365).default(30) });
export const BotAnalytics = z.object({
  conversations: z.number().int().describe('Conversations the bot answered first'),
  contained: z.number().int().describe('Resolved without a human'),
  handedOff: z.number().int(),
  containmentRate: z.number().nullable(),
  handoffReasons: z.array(z.object({ reason: z.string(), count: z.number().int() })),
  topIntents: z.array(z.object({ intent: z.string(), count: z.number().int() })),
  knowledgeAnswers: z.number().int(),
  fallbacks: z.number().int(),
});
export type BotAnalytics = z.infer<typeof BotAnalytics>;
