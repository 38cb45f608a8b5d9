import type { BotIntent, BotTrainingReport, CreateBotIntentBody, EntityDefinitionInput, UpdateBotIntentBody } from '@huiliu/contracts';
import type { z } from 'zod';
import type { Database, Row } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { AppError, conflict, isUniqueViolation, notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { loadIntentModel, type IntentExample, type IntentModel, type SerializedIntentModel } from './nlu/intent-model.ts';
import { checkTrainingSet } from './nlu/training-set.ts';
import { trainInWorker } from './nlu/train-in-worker.ts';
import { checkEntityDefinitions, type EntityDefinition } from './nlu/entities.ts';

/**
 * The training loop of the bot: intents with example utterances, workspace entities, training the offline
 * intent model and its cross-validated report (accuracy per intent, confusions, misses), and the per-node
 * cache of the trained model. Training runs in the request, in a worker thread (seconds to tens of seconds of
 * CPU that must not freeze the node).
 */

const EMPTY_REPORT: BotTrainingReport = {
  status: 'untrained', trainedAt: null, examples: 0, intents: 0, trainSeconds: null, threshold: null,
  accuracy: null, macroF1: null, perIntent: [], confusions: [], misses: [], errors: [], warnings: [],
};

/** More examples than this are trained on but cross-validated on a sample, so the request stays short. */
const MAX_CROSS_VALIDATION_EXAMPLES = 6_000;
/** How often a node checks whether another node trained a newer model for a workspace. */
const MODEL_RECHECK_MS = 2_000;

function presentIntent(r: Row): BotIntent {
  return { id: r.id as string, name: r.name as string, description: r.description as string, examples: r.examples as string[], updatedAt: new Date(r.updated_at as string).toISOString() };
}

export interface LoadedModel {
  model: IntentModel | null;
  revision: number;
}

export function createBotTraining(deps: { db: Database; logger: Logger }) {
  const { db } = deps;
  const log = deps.logger.child({ component: 'bot.training' });
  const models = new Map<string, { loaded: LoadedModel; checkedAt: number }>();
  const entityCache = new Map<string, { definitions: EntityDefinition[]; checkedAt: number }>();

  async function examplesOf(workspaceId: string): Promise<IntentExample[]> {
    const rows = await db.query(`SELECT name, examples FROM bot_intents WHERE workspace_id = $1 ORDER BY name`, [workspaceId]);
    return rows.flatMap((r) => (r.examples as string[]).map((text) => ({ text, intent: r.name as string })));
  }

  /** Trains and stores the model and its report; returns the report (status 'failed' with errors when the set is unusable). */
  async function train(workspaceId: string, actor?: Actor): Promise<BotTrainingReport> {
    const examples = await examplesOf(workspaceId);
    const checked = checkTrainingSet(examples);
    const base = { examples: examples.length, intents: new Set(examples.map((e) => e.intent)).size, errors: checked.errors, warnings: checked.warnings };
    let report: BotTrainingReport;
    let serialized: SerializedIntentModel | null = null;
    if (checked.errors.length > 0) {
      report = { ...EMPTY_REPORT, ...base, status: 'failed', trainedAt: new Date().toISOString() };
    } else {
      const sample = examples.length > MAX_CROSS_VALIDATION_EXAMPLES ? sampleEvery(examples, MAX_CROSS_VALIDATION_EXAMPLES) : examples;
      const minPerIntent = Math.min(...countBy(sample.map((e) => e.intent)).values());
      const folds = Math.max(2, Math.min(5, minPerIntent));
      const trained = await trainInWorker({ examples, sample, folds });
      serialized = trained.model;
      const { cv, trainSeconds } = trained;
      report = {
        ...base,
        status: 'trained',
        trainedAt: new Date().toISOString(),
        trainSeconds: round(trainSeconds, 3),
        threshold: round(trained.threshold, 3),
        accuracy: round(cv.inScopeAccuracy, 4),
        macroF1: round(cv.macroF1, 4),
        perIntent: cv.perIntent.map((p) => ({ ...p, precision: round(p.precision, 4), recall: round(p.recall, 4), f1: round(p.f1, 4) })),
        confusions: cv.confusions.slice(0, 20),
        // The evaluation calls a rejected message 'oos'; the API says null (not understood).
        misses: cv.misses.slice(0, 50).map((m) => ({ text: m.text, expected: m.expected, predicted: m.predicted === 'oos' ? null : m.predicted, confidence: round(m.confidence, 3) })),
      };
    }
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO bot_models (workspace_id, model, report) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id) DO UPDATE SET
           model = CASE WHEN EXCLUDED.model IS NULL THEN bot_models.model ELSE EXCLUDED.model END,
           report = EXCLUDED.report, revision = bot_models.revision + 1, trained_at = now()`,
        [workspaceId, serialized ? JSON.stringify(serialized) : null, JSON.stringify(report)],
      );
      if (actor) await recordAudit(tx, actor, 'bot.trained', null, { examples: report.examples, intents: report.intents, status: report.status });
    });
    models.delete(workspaceId);
    log.info({ workspaceId, status: report.status, examples: report.examples, accuracy: report.accuracy }, 'bot model trained');
    return report;
  }

  // One training per workspace at a time on this node: a second click waits for the running one.
  const running = new Map<string, Promise<BotTrainingReport>>();
  function trainOnce(workspaceId: string, actor?: Actor): Promise<BotTrainingReport> {
    const current = running.get(workspaceId);
    if (current) return current;
    const p = train(workspaceId, actor).finally(() => running.delete(workspaceId));
    running.set(workspaceId, p);
    return p;
  }

  return {
    train: trainOnce,

    /** The workspace's model (null before the first successful training), reloaded when another node retrained. */
    async model(workspaceId: string): Promise<LoadedModel> {
      const cached = models.get(workspaceId);
      const now = Date.now();
      if (cached && now - cached.checkedAt < MODEL_RECHECK_MS) return cached.loaded;
      const rev = await one(db, `SELECT revision FROM bot_models WHERE workspace_id = $1`, [workspaceId]);
      const revision = rev ? Number(rev.revision) : 0;
      if (cached && cached.loaded.revision === revision) {
        cached.checkedAt = now;
        return cached.loaded;
      }
      const row = revision > 0 ? await one(db, `SELECT model FROM bot_models WHERE workspace_id = $1`, [workspaceId]) : undefined;
      let model: IntentModel | null = null;
      if (row?.model) {
        try {
          model = loadIntentModel(row.model);
        } catch (err) {
          log.error({ err, workspaceId }, 'stored bot model cannot be loaded; retrain it');
        }
      }
      const loaded = { model, revision };
      models.set(workspaceId, { loaded, checkedAt: now });
      return loaded;
    },

    /** Workspace entities (enums, regexes) for the extractor; cached briefly. */
    async entityDefinitions(workspaceId: string): Promise<EntityDefinition[]> {
      const cached = entityCache.get(workspaceId);
      if (cached && Date.now() - cached.checkedAt < MODEL_RECHECK_MS) return cached.definitions;
      const rows = await db.query(`SELECT definition FROM bot_entities WHERE workspace_id = $1 ORDER BY name`, [workspaceId]);
      const definitions = checkEntityDefinitions(rows.map((r) => r.definition)).definitions;
      entityCache.set(workspaceId, { definitions, checkedAt: Date.now() });
      return definitions;
    },

    /** Intent names and descriptions with a few examples (flow validation, the LLM intent fallback). */
    async intentCatalog(workspaceId: string): Promise<Array<{ name: string; description: string; examples: string[] }>> {
      const rows = await db.query(`SELECT name, description, examples FROM bot_intents WHERE workspace_id = $1 ORDER BY name`, [workspaceId]);
      return rows.map((r) => ({ name: r.name as string, description: r.description as string, examples: (r.examples as string[]).slice(0, 5) }));
    },

    async report(actor: Actor): Promise<BotTrainingReport> {
      requirePermission(actor, 'bot.manage');
      const row = await one(db, `SELECT report FROM bot_models WHERE workspace_id = $1`, [actor.workspaceId]);
      return (row?.report as BotTrainingReport | undefined) ?? EMPTY_REPORT;
    },

    async trainNow(actor: Actor): Promise<BotTrainingReport> {
      requirePermission(actor, 'bot.manage');
      return trainOnce(actor.workspaceId, actor);
    },

    async listIntents(actor: Actor): Promise<BotIntent[]> {
      requirePermission(actor, 'bot.manage');
      const rows = await db.query(`SELECT * FROM bot_intents WHERE workspace_id = $1 ORDER BY name`, [actor.workspaceId]);
      return rows.map(presentIntent);
    },

    async createIntent(actor: Actor, body: z.output<typeof CreateBotIntentBody>): Promise<BotIntent> {
      requirePermission(actor, 'bot.manage');
      const r = await one(
        db,
        `INSERT INTO bot_intents (workspace_id, name, description, examples) VALUES ($1, $2, $3, $4) RETURNING *`,
        [actor.workspaceId, body.name, body.description, dedupe(body.examples)],
      ).catch(onDuplicateName(body.name));
      return presentIntent(r!);
    },

    async updateIntent(actor: Actor, id: string, body: z.output<typeof UpdateBotIntentBody>): Promise<BotIntent> {
      requirePermission(actor, 'bot.manage');
      const r = await one(
        db,
        `UPDATE bot_intents SET name = COALESCE($3, name), description = COALESCE($4, description), examples = COALESCE($5, examples), updated_at = now()
         WHERE id = $1 AND workspace_id = $2 RETURNING *`,
        [id, actor.workspaceId, body.name ?? null, body.description ?? null, body.examples ? dedupe(body.examples) : null],
      ).catch(onDuplicateName(body.name));
      if (!r) throw notFound('intent');
      return presentIntent(r);
    },

    async removeIntent(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'bot.manage');
      const rows = await db.query(`DELETE FROM bot_intents WHERE id = $1 AND workspace_id = $2 RETURNING id`, [id, actor.workspaceId]);
      if (rows.length === 0) throw notFound('intent');
    },

    /** Adds a real customer message as an example (the misrecognized-messages loop). */
    async addExample(workspaceId: string, intent: string, text: string): Promise<boolean> {
      const rows = await db.query(
        `UPDATE bot_intents SET examples = CASE WHEN $3 = ANY(examples) THEN examples ELSE array_append(examples, $3) END, updated_at = now()
         WHERE workspace_id = $1 AND name = $2 RETURNING id`,
        [workspaceId, intent, text.trim().slice(0, 500)],
      );
      return rows.length > 0;
    },

    async getEntities(actor: Actor): Promise<{ entities: EntityDefinitionInput[] }> {
      requirePermission(actor, 'bot.manage');
      const rows = await db.query(`SELECT definition FROM bot_entities WHERE workspace_id = $1 ORDER BY name`, [actor.workspaceId]);
      return { entities: rows.map((r) => r.definition as EntityDefinitionInput) };
    },

    async putEntities(actor: Actor, entities: EntityDefinitionInput[]): Promise<{ entities: EntityDefinitionInput[] }> {
      requirePermission(actor, 'bot.manage');
      const checked = checkEntityDefinitions(entities);
      if (checked.issues.length > 0) {
        const issues = checked.issues.map((i) => ({ path: `body.entities.${i.path}`.replace(/\.$/, ''), message: i.message }));
        throw new AppError('validation_failed', `${issues[0]!.path}: ${issues[0]!.message}`, issues);
      }
      const names = new Set<string>();
      entities.forEach((e, i) => {
        if (names.has(e.name)) throw new AppError('validation_failed', `body.entities.${i}.name: "${e.name}" is defined twice; keep one`, [{ path: `body.entities.${i}.name`, message: 'defined twice' }]);
        names.add(e.name);
      });
      await db.transaction(async (tx) => {
        await tx.query(`DELETE FROM bot_entities WHERE workspace_id = $1`, [actor.workspaceId]);
        for (const e of entities) await tx.query(`INSERT INTO bot_entities (workspace_id, name, definition) VALUES ($1, $2, $3)`, [actor.workspaceId, e.name, JSON.stringify(e)]);
        await recordAudit(tx, actor, 'bot.entities_updated', null, { count: entities.length });
      });
      entityCache.delete(actor.workspaceId);
      return { entities };
    },

    /** Drops this node's cached copies (settings or training changed elsewhere). */
    forget(workspaceId: string): void {
      models.delete(workspaceId);
      entityCache.delete(workspaceId);
    },
  };
}
export type BotTraining = ReturnType<typeof createBotTraining>;

function onDuplicateName(name: string | undefined) {
  return (err: unknown): never => {
    if (isUniqueViolation(err)) throw conflict(`an intent named "${name}" already exists; edit it instead`);
    throw err;
  };
}

function dedupe(examples: string[]): string[] {
  return [...new Set(examples.map((e) => e.trim()).filter(Boolean))];
}

function countBy(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** A deterministic, evenly spread sample (keeps every intent represented in proportion). */
function sampleEvery<T>(items: T[], n: number): T[] {
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step)]!);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
