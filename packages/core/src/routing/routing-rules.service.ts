/**
 * Routing rules and business-hours schedules (issue 4): storage and the console's REST operations.
 *
 * The pure parts live next door — `rules/` (validateRuleSet, evaluateRules) and `business-hours/` (isOpen,
 * nextOpening, validateSchedule). This service persists them per workspace, checks references against the
 * workspace's real catalog on save, and tells the routing engine to drop its cached copy
 * (`routing.invalidateRoutingConfig`).
 */
import {
  BusinessScheduleBody,
  type BusinessSchedule,
  type RoutingRule,
  type RuleEvaluation,
  type RuleSetWarning,
  type TestRoutingRulesBody,
} from '@huiliu/contracts/routing-rules';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { conflict, invalid, isUniqueViolation, notFound } from '../shared/errors.ts';
import { evaluateRules, findUnreachable, validateRuleSet, type RoutingCatalog } from './rules/index.ts';
import { isOpen, nextOpening, scheduleState, validateSchedule } from './business-hours/index.ts';

export interface SavedRuleSet {
  rules: RoutingRule[];
  version: number;
  updatedBy: string | null;
  updatedAt: string | null;
  warnings: RuleSetWarning[];
}

export interface ScheduleStatus {
  scheduleId: string;
  timeZone: string;
  open: boolean;
  /** Now when open; the next opening otherwise; null when it never opens within the horizon. */
  nextOpening: string | null;
  localTime: string;
  dayKind: string;
  dayName: string | null;
  shift: string | null;
}

/** A stored schedule row → the contract shape (name from the column, the rest from the JSON). */
export function presentSchedule(r: Row): BusinessSchedule {
  const body = BusinessScheduleBody.parse({ ...(r.schedule as Record<string, unknown>), name: r.name });
  return { id: r.id as string, ...body };
}

/** Every reference a rule may make, as the workspace has them now. */
export async function loadRoutingCatalog(sql: Sql, workspaceId: string): Promise<RoutingCatalog> {
  const [teams, agents, skills, inboxes, schedules] = await Promise.all([
    sql.query(`SELECT id FROM teams WHERE workspace_id = $1`, [workspaceId]),
    sql.query(`SELECT id FROM users WHERE workspace_id = $1 AND status = 'active'`, [workspaceId]),
    sql.query(`SELECT DISTINCT skill FROM agent_skills WHERE workspace_id = $1`, [workspaceId]),
    sql.query(`SELECT id FROM inboxes WHERE workspace_id = $1 AND deleted_at IS NULL`, [workspaceId]),
    sql.query(`SELECT id FROM business_schedules WHERE workspace_id = $1`, [workspaceId]),
  ]);
  return {
    teamIds: teams.map((r) => r.id as string),
    agentIds: agents.map((r) => r.id as string),
    skills: skills.map((r) => r.skill as string),
    inboxIds: inboxes.map((r) => r.id as string),
    scheduleIds: schedules.map((r) => r.id as string),
  };
}

export async function loadSchedules(sql: Sql, workspaceId: string): Promise<Map<string, BusinessSchedule>> {
  const rows = await sql.query(`SELECT id, name, schedule FROM business_schedules WHERE workspace_id = $1`, [workspaceId]);
  return new Map(rows.map((r) => [r.id as string, presentSchedule(r)]));
}

export function createRoutingRulesService(deps: {
  db: Database;
  /** The routing engine's cache of rules and schedules for a workspace (single node; see routing.service.ts). */
  invalidate: (workspaceId: string) => void;
  /** Conversations waiting for a team whose hours changed may be routable now. */
  onSchedulesChanged?: (workspaceId: string) => Promise<void>;
}) {
  const { db, invalidate } = deps;

  async function readRuleSet(sql: Sql, workspaceId: string): Promise<Omit<SavedRuleSet, 'warnings'>> {
    const r = await one(sql, `SELECT rules, version, updated_by, updated_at FROM routing_rule_sets WHERE workspace_id = $1`, [workspaceId]);
    if (!r) return { rules: [], version: 0, updatedBy: null, updatedAt: null };
    return {
      rules: r.rules as RoutingRule[],
      version: Number(r.version),
      updatedBy: (r.updated_by as string | null) ?? null,
      updatedAt: new Date(r.updated_at as string).toISOString(),
    };
  }

  async function scheduleRow(sql: Sql, workspaceId: string, id: string): Promise<Row> {
    const r = await one(sql, `SELECT id, name, schedule FROM business_schedules WHERE id = $1 AND workspace_id = $2`, [id, workspaceId]);
    if (!r) throw notFound('schedule');
    return r;
  }

  const toStored = (s: BusinessScheduleBody) => {
    const { name: _name, ...rest } = s;
    return JSON.stringify(rest);
  };

  function uniqueName<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      if (isUniqueViolation(err)) throw invalid('body.name', 'a schedule with this name already exists in this workspace');
      throw err;
    });
  }

  return {
    async getRules(actor: Actor): Promise<SavedRuleSet> {
      requirePermission(actor, 'routing.manage');
      const set = await readRuleSet(db, actor.workspaceId);
      return { ...set, warnings: findUnreachable(set.rules) };
    },

    /** Validates (shape, references, unreachable rules → warnings) and replaces the workspace's rule set. */
    async saveRules(actor: Actor, body: { rules: unknown; expectedVersion?: number | undefined }): Promise<SavedRuleSet> {
      requirePermission(actor, 'routing.manage');
      const saved = await db.transaction(async (tx) => {
        const catalog = await loadRoutingCatalog(tx, actor.workspaceId);
        const { rules, warnings } = validateRuleSet(body.rules, catalog);
        // Serializes concurrent saves of one workspace (the row lock) and checks the editor's version.
        await tx.query(`INSERT INTO routing_rule_sets (workspace_id) VALUES ($1) ON CONFLICT (workspace_id) DO NOTHING`, [actor.workspaceId]);
        const cur = await one(tx, `SELECT version FROM routing_rule_sets WHERE workspace_id = $1 FOR UPDATE`, [actor.workspaceId]);
        if (body.expectedVersion !== undefined && Number(cur?.version ?? 0) !== body.expectedVersion) {
          throw conflict(`the rules were changed meanwhile (version ${Number(cur?.version ?? 0)}, you edited ${body.expectedVersion}); reload and apply your change again`);
        }
        const r = await one(
          tx,
          `UPDATE routing_rule_sets SET rules = $2::text::jsonb, version = version + 1, updated_by = $3, updated_at = now()
           WHERE workspace_id = $1 RETURNING version, updated_by, updated_at`,
          [actor.workspaceId, JSON.stringify(rules), actor.kind === 'user' ? actor.userId : null],
        );
        return { rules, warnings, version: Number(r!.version), updatedBy: (r!.updated_by as string | null) ?? null, updatedAt: new Date(r!.updated_at as string).toISOString() };
      });
      invalidate(actor.workspaceId);
      return saved;
    },

    /** "Test this rule": the saved rules (or the unsaved ones given) against a sample conversation's facts. */
    async testRules(actor: Actor, body: TestRoutingRulesBody): Promise<RuleEvaluation & { warnings: RuleSetWarning[] }> {
      requirePermission(actor, 'routing.manage');
      let rules: RoutingRule[];
      let warnings: RuleSetWarning[];
      const catalog = await loadRoutingCatalog(db, actor.workspaceId);
      if (!(catalog.inboxIds as string[]).includes(body.facts.inboxId)) throw notFound('inbox'); // facts.inboxId: ids of another workspace are not_found
      if (body.rules) {
        ({ rules, warnings } = validateRuleSet(body.rules, catalog));
      } else {
        rules = (await readRuleSet(db, actor.workspaceId)).rules;
        warnings = findUnreachable(rules);
      }
      const schedules = await loadSchedules(db, actor.workspaceId);
      const at = body.at ? new Date(body.at) : new Date();
      return { ...evaluateRules(rules, body.facts, { now: () => at }, { schedules }), warnings };
    },

    // ---- schedules

    async listSchedules(actor: Actor): Promise<BusinessSchedule[]> {
      requirePermission(actor, 'routing.manage');
      const rows = await db.query(`SELECT id, name, schedule FROM business_schedules WHERE workspace_id = $1 ORDER BY name, id`, [actor.workspaceId]);
      return rows.map(presentSchedule);
    },

    async getSchedule(actor: Actor, id: string): Promise<BusinessSchedule> {
      requirePermission(actor, 'routing.manage');
      return presentSchedule(await scheduleRow(db, actor.workspaceId, id));
    },

    async createSchedule(actor: Actor, input: unknown): Promise<BusinessSchedule> {
      requirePermission(actor, 'routing.manage');
      const s = validateSchedule(input);
      const r = await uniqueName(one(db, `INSERT INTO business_schedules (workspace_id, name, schedule) VALUES ($1, $2, $3::text::jsonb) RETURNING id, name, schedule`, [actor.workspaceId, s.name, toStored(s)]));
      invalidate(actor.workspaceId);
      return presentSchedule(r!);
    },

    async updateSchedule(actor: Actor, id: string, input: unknown): Promise<BusinessSchedule> {
      requirePermission(actor, 'routing.manage');
      const s = validateSchedule(input);
      const r = await uniqueName(one(
        db,
        `UPDATE business_schedules SET name = $3, schedule = $4::text::jsonb, updated_at = now() WHERE id = $1 AND workspace_id = $2 RETURNING id, name, schedule`,
        [id, actor.workspaceId, s.name, toStored(s)],
      ));
      if (!r) throw notFound('schedule');
      invalidate(actor.workspaceId);
      await deps.onSchedulesChanged?.(actor.workspaceId);
      return presentSchedule(r);
    },

    /** Refused while a saved rule uses the schedule (teams using it fall back to "always open"). */
    async deleteSchedule(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'routing.manage');
      await db.transaction(async (tx) => {
        await scheduleRow(tx, actor.workspaceId, id);
        const { rules } = await readRuleSet(tx, actor.workspaceId);
        const user = rules.findIndex((r) => r.conditions.some((g) => g.conditions.some((c) => c.type === 'business_hours' && c.scheduleId === id)));
        if (user >= 0) throw conflict(`the routing rule "${rules[user]!.name}" (rules.${user}) uses this schedule; change the rule first`);
        await tx.query(`DELETE FROM business_schedules WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
      });
      invalidate(actor.workspaceId);
      await deps.onSchedulesChanged?.(actor.workspaceId);
    },

    async scheduleStatus(actor: Actor, id: string, at: Date = new Date()): Promise<ScheduleStatus> {
      requirePermission(actor, 'routing.manage');
      const s = presentSchedule(await scheduleRow(db, actor.workspaceId, id));
      const state = scheduleState(s, at);
      const next = isOpen(s, at) ? at : nextOpening(s, at);
      return {
        scheduleId: s.id,
        timeZone: s.timeZone,
        open: state.open,
        nextOpening: next ? next.toISOString() : null,
        localTime: `${state.local.date ?? ''} ${String(Math.floor(state.local.minutes / 60)).padStart(2, '0')}:${String(state.local.minutes % 60).padStart(2, '0')}`.trim(),
        dayKind: state.dayKind,
        dayName: state.dayName ?? null,
        shift: state.shift ?? null,
      };
    },

    /** Sets (or clears) a team's business hours. */
    async setTeamSchedule(actor: Actor, teamId: string, scheduleId: string | null): Promise<{ teamId: string; scheduleId: string | null }> {
      requirePermission(actor, 'routing.manage');
      await db.transaction(async (tx) => {
        const team = await one(tx, `SELECT id FROM teams WHERE id = $1 AND workspace_id = $2 FOR UPDATE`, [teamId, actor.workspaceId]);
        if (!team) throw notFound('team');
        if (scheduleId !== null) {
          const s = await one(tx, `SELECT id FROM business_schedules WHERE id = $1 AND workspace_id = $2`, [scheduleId, actor.workspaceId]);
          if (!s) throw invalid('body.scheduleId', 'no business-hours schedule with this id in this workspace');
        }
        await tx.query(`UPDATE teams SET schedule_id = $2 WHERE id = $1`, [teamId, scheduleId]);
      });
      invalidate(actor.workspaceId);
      await deps.onSchedulesChanged?.(actor.workspaceId);
      return { teamId, scheduleId };
    },
  };
}
export type RoutingRulesService = ReturnType<typeof createRoutingRulesService>;
