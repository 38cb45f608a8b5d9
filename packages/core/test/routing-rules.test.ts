import {
  RoutingFacts,
  RoutingRule,
  RuleEvaluation,
  SaveRoutingRulesBody,
  type RoutingFactsInput,
  type RoutingRuleInput,
  type ScheduleTimes,
} from '@huiliu/contracts/routing-rules';
import { describe, expect, it } from 'vitest';
import { validateSchedule } from '../src/routing/business-hours/index.ts';
import {
  containsKeyword,
  evaluateRules,
  fold,
  ruleStops,
  validateRuleSet,
  type RoutingCatalog,
} from '../src/routing/rules/index.ts';
import { issuesOf } from './helpers/issues.ts';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const VIP_TEAM = uuid(1);
const SALES_TEAM = uuid(2);
const SUPPORT_TEAM = uuid(3);
const ALICE = uuid(10);
const WEB_INBOX = uuid(20);
const WECHAT_INBOX = uuid(21);
const CN_HOURS = uuid(30);
const MISSING = uuid(99);

const catalog: RoutingCatalog = {
  teamIds: [VIP_TEAM, SALES_TEAM, SUPPORT_TEAM],
  agentIds: [ALICE],
  skills: ['refund', 'english', 'vip'],
  inboxIds: [WEB_INBOX, WECHAT_INBOX],
  scheduleIds: [CN_HOURS],
};

const clockAt = (iso: string) => ({ now: () => new Date(iso) });
/** Mon 2026-09-28 10:00 in Shanghai. */
const MONDAY_10_CST = clockAt('2026-09-28T02:00:00Z');

const rules = (input: RoutingRuleInput[]) => validateRuleSet(input, catalog).rules;
const facts = (f: Partial<RoutingFactsInput> = {}) =>
  RoutingFacts.parse({ channelType: 'web', inboxId: WEB_INBOX, contact: {}, ...f });


const vipRule: RoutingRuleInput = {
  id: 'vip',
  name: 'VIP contacts go to the VIP team',
  conditions: [
    {
      match: 'any',
      conditions: [
        { type: 'tag_has', tag: 'vip' },
        { type: 'attribute_equals', key: 'tier', value: 'vip' },
      ],
    },
  ],
  actions: [
    { type: 'route_team', teamId: VIP_TEAM },
    { type: 'set_priority', priority: 'high' },
  ],
};
const fallbackRule: RoutingRuleInput = {
  id: 'default',
  name: 'Everyone else to support',
  conditions: [],
  actions: [{ type: 'route_team', teamId: SUPPORT_TEAM }],
};

describe('example: VIP contacts go to the VIP team with priority high', () => {
  const set = rules([vipRule, fallbackRule]);

  it('a contact tagged vip', () => {
    const r = evaluateRules(set, facts({ contact: { tags: ['VIP', 'returning'] } }), MONDAY_10_CST);
    expect(r.matchedRuleIds).toEqual(['vip']);
    expect(r.decision).toMatchObject({
      target: { type: 'team', teamId: VIP_TEAM },
      priority: 'high',
      sources: { target: 'vip', priority: 'vip' },
    });
    expect(r.rules.map((t) => t.status)).toEqual(['matched', 'not_reached']);
    expect(r.rules[0]?.groups[0]?.conditions).toEqual([
      { path: 'conditions.0.conditions.0', type: 'tag_has', matched: true, detail: 'contact has tag "vip"' },
      { path: 'conditions.0.conditions.1', type: 'attribute_equals', matched: false, detail: 'attributes.tier = (missing), not "vip"' },
    ]);
    expect(r.explanation).toEqual([
      'Rule #1 "VIP contacts go to the VIP team" (vip) matched: any of [contact has tag "vip"].',
      `Route to team ${VIP_TEAM} (rule "VIP contacts go to the VIP team" (vip)).`,
      'Priority high (rule "VIP contacts go to the VIP team" (vip)).',
      'Later rules were not evaluated: rule "VIP contacts go to the VIP team" (vip) stops the evaluation.',
    ]);
    expect(RuleEvaluation.parse(r)).toEqual(r); // the result matches its contract
  });

  it('a contact with attribute tier=vip (any case)', () => {
    const r = evaluateRules(set, facts({ contact: { attributes: { tier: 'VIP' } } }), MONDAY_10_CST);
    expect(r.decision.target).toEqual({ type: 'team', teamId: VIP_TEAM });
    expect(r.decision.priority).toBe('high');
  });

  it('anyone else goes to support with no priority', () => {
    const r = evaluateRules(set, facts({ contact: { tags: ['vipish'], attributes: { tier: 'gold' } } }), MONDAY_10_CST);
    expect(r.matchedRuleIds).toEqual(['default']);
    expect(r.decision).toMatchObject({ target: { type: 'team', teamId: SUPPORT_TEAM }, priority: null });
    expect(r.rules[0]?.status).toBe('not_matched');
  });
});

describe('conditions', () => {
  const one = (condition: unknown, f: Partial<RoutingFactsInput>, clock = MONDAY_10_CST, schedules?: Map<string, ScheduleTimes>) => {
    const set = rules([{ id: 'r', name: 'r', conditions: [{ match: 'all', conditions: [condition as never] }], actions: [{ type: 'add_tags', tags: ['hit'] }] }]);
    const r = evaluateRules(set, facts(f), clock, schedules ? { schedules } : {});
    return { matched: r.matchedRuleIds.length === 1, detail: r.rules[0]?.groups[0]?.conditions[0]?.detail };
  };

  it('channel and inbox', () => {
    expect(one({ type: 'channel', in: ['wechat_oa', 'wecom_kf'] }, { channelType: 'wechat_oa' }).matched).toBe(true);
    expect(one({ type: 'channel', in: ['wechat_oa'] }, { channelType: 'web' })).toEqual({ matched: false, detail: 'channel web ∉ [wechat_oa]' });
    expect(one({ type: 'inbox', in: [WECHAT_INBOX] }, { inboxId: WECHAT_INBOX }).matched).toBe(true);
    expect(one({ type: 'inbox', in: [WECHAT_INBOX] }, {}).matched).toBe(false);
  });

  it('contact attributes: equals / in / exists / numeric compare', () => {
    const c = (attributes: Record<string, unknown>) => ({ contact: { attributes } });
    expect(one({ type: 'attribute_equals', key: 'plan', value: 'Pro' }, c({ plan: 'pro' })).matched).toBe(true);
    expect(one({ type: 'attribute_equals', key: 'level', value: 5 }, c({ level: '5' })).matched).toBe(true);
    expect(one({ type: 'attribute_equals', key: 'level', value: 5 }, c({ level: 'five' })).matched).toBe(false);
    expect(one({ type: 'attribute_equals', key: 'paid', value: true }, c({ paid: true })).matched).toBe(true);
    expect(one({ type: 'attribute_equals', key: 'paid', value: true }, c({ paid: 'true' })).matched).toBe(true);
    expect(one({ type: 'attribute_equals', key: 'plans', value: 'pro' }, c({ plans: ['basic', 'pro'] })).matched).toBe(true);
    expect(one({ type: 'attribute_equals', key: 'constructor', value: 'x' }, c({})).matched).toBe(false);
    expect(one({ type: 'attribute_in', key: 'city', values: ['北京', '上海'] }, c({ city: '上海' })).matched).toBe(true);
    expect(one({ type: 'attribute_in', key: 'city', values: ['北京', '上海'] }, c({ city: '深圳' })).matched).toBe(false);
    expect(one({ type: 'attribute_exists', key: 'orderId' }, c({ orderId: 'A1' })).matched).toBe(true);
    expect(one({ type: 'attribute_exists', key: 'orderId' }, c({ orderId: '  ' })).matched).toBe(false);
    expect(one({ type: 'attribute_exists', key: 'orderId' }, c({ orderId: null })).matched).toBe(false);
    expect(one({ type: 'attribute_exists', key: 'orderId' }, c({})).matched).toBe(false);
    expect(one({ type: 'attribute_compare', key: 'ltv', op: 'gte', value: 10000 }, c({ ltv: 10000 })).matched).toBe(true);
    expect(one({ type: 'attribute_compare', key: 'ltv', op: 'gt', value: 10000 }, c({ ltv: 10000 })).matched).toBe(false);
    expect(one({ type: 'attribute_compare', key: 'ltv', op: 'lt', value: 100 }, c({ ltv: '99.5' })).matched).toBe(true);
    expect(one({ type: 'attribute_compare', key: 'ltv', op: 'lte', value: 100 }, c({ ltv: 'n/a' }))).toEqual({
      matched: false,
      detail: 'attributes.ltv = "n/a" (not a number), not ≤ 100',
    });
  });

  it('contact tags: has / has any (case-insensitive)', () => {
    expect(one({ type: 'tag_has', tag: 'Refund' }, { contact: { tags: ['refund'] } }).matched).toBe(true);
    expect(one({ type: 'tag_has_any', tags: ['blocked', '投诉'] }, { contact: { tags: ['投诉'] } })).toEqual({
      matched: true,
      detail: 'contact has tag "投诉" (one of [blocked, 投诉])',
    });
    expect(one({ type: 'tag_has_any', tags: ['blocked'] }, { contact: { tags: [] } }).matched).toBe(false);
  });

  it('language: a primary tag covers its regions', () => {
    expect(one({ type: 'language', in: ['zh'] }, { language: 'zh-CN' }).matched).toBe(true);
    expect(one({ type: 'language', in: ['zh'] }, { language: 'zh_TW' }).matched).toBe(true);
    expect(one({ type: 'language', in: ['zh-CN'] }, { language: 'zh-TW' }).matched).toBe(false);
    expect(one({ type: 'language', in: ['en'] }, { language: 'eng' }).matched).toBe(false);
    expect(one({ type: 'language', in: ['en'] }, {})).toEqual({ matched: false, detail: 'language unknown' });
  });

  it('detected intent with a minimum confidence', () => {
    const c = { type: 'intent', in: ['refund', 'complaint'], minConfidence: 0.7 };
    expect(one(c, { intent: { name: 'refund', confidence: 0.9 } }).matched).toBe(true);
    expect(one(c, { intent: { name: 'refund', confidence: 0.5 } })).toEqual({ matched: false, detail: 'intent "refund" with confidence 0.5 < 0.7' });
    expect(one(c, { intent: { name: 'greeting', confidence: 0.99 } }).matched).toBe(false);
    expect(one(c, {})).toEqual({ matched: false, detail: 'no intent detected' });
  });

  it('message keywords: case-insensitive, whole words for Latin, substrings for Chinese', () => {
    const kw = (any: string[], messageText: string) => one({ type: 'keywords', any }, { messageText }).matched;
    expect(kw(['退款'], '你好，我想申请退款可以吗')).toBe(true);
    expect(kw(['退款', '退货'], '我要退货')).toBe(true);
    expect(kw(['退款'], '我想问一下发货时间')).toBe(false);
    expect(kw(['refund'], 'I want a REFUND!')).toBe(true);
    expect(kw(['refund'], '我要refund')).toBe(true); // CJK next to a Latin word is a boundary
    expect(kw(['refund'], 'refunded already')).toBe(false);
    expect(kw(['VIP'], 'ｖｉｐ会员')).toBe(true); // full-width letters
    expect(kw(['money back'], 'I want my  money back')).toBe(true);
    expect(kw(['c++'], 'help with C++ please')).toBe(true);
    expect(kw(['hi'], 'this is it')).toBe(false);
    expect(kw(['hi'], '')).toBe(false);
    expect(one({ type: 'keywords', any: ['退款', 'refund'] }, { messageText: 'nothing' }).detail).toBe('message contains none of [退款, refund]');
    expect(containsKeyword(fold('Ｒｅｆｕｎｄ，谢谢'), fold('refund'))).toBe(true);
  });

  it('business hours inside / outside a named schedule', () => {
    const schedule = validateSchedule({
      name: '客服',
      timeZone: 'Asia/Shanghai',
      weekly: { mon: [{ start: '09:00', end: '12:00' }, { start: '13:30', end: '18:00' }] },
      holidays: [{ date: '2026-10-01', until: '2026-10-07', name: '国庆节' }],
    });
    const schedules = new Map([[CN_HOURS, schedule]]);
    const inside = { type: 'business_hours', scheduleId: CN_HOURS, state: 'inside' };
    const outside = { type: 'business_hours', scheduleId: CN_HOURS, state: 'outside' };
    expect(one(inside, {}, MONDAY_10_CST, schedules)).toEqual({
      matched: true,
      detail: `schedule ${CN_HOURS} is open (shift 09:00–12:00) at 2026-09-28 10:00 Asia/Shanghai; wanted inside business hours`,
    });
    expect(one(outside, {}, MONDAY_10_CST, schedules).matched).toBe(false);
    expect(one(outside, {}, clockAt('2026-09-28T04:30:00Z'), schedules).matched).toBe(true); // lunch
    expect(one(outside, {}, clockAt('2026-10-05T02:00:00Z'), schedules).detail).toMatch(/closed \(holiday 国庆节\)/);
    // a schedule deleted after the rules were saved never matches (either way) rather than failing routing
    expect(one(inside, {}, MONDAY_10_CST, new Map())).toEqual({ matched: false, detail: `schedule ${CN_HOURS} not found` });
    expect(one(outside, {}, MONDAY_10_CST).matched).toBe(false);
  });

  it("the customer's local time window in their own time zone", () => {
    const office = { type: 'local_time', from: '09:00', to: '18:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] };
    // 2026-09-28T02:00Z: Monday 10:00 in Shanghai, Sunday 22:00 in New York
    expect(one(office, { timeZone: 'Asia/Shanghai' })).toEqual({
      matched: true,
      detail: 'customer local time mon 10:00 (Asia/Shanghai) within 09:00–18:00 on mon,tue,wed,thu,fri',
    });
    expect(one(office, { timeZone: 'America/New_York' })).toEqual({
      matched: false,
      detail: 'customer local time sun 22:00 (America/New_York) outside 09:00–18:00 on mon,tue,wed,thu,fri',
    });
    // a window over midnight
    const night = { type: 'local_time', from: '22:00', to: '06:00' };
    expect(one(night, { timeZone: 'America/New_York' }).matched).toBe(true);
    expect(one(night, { timeZone: 'Asia/Shanghai' }).matched).toBe(false);
    expect(one(night, { timeZone: 'Asia/Shanghai' }, clockAt('2026-09-28T20:30:00Z')).matched).toBe(true); // 04:30 CST
    // follows the customer's DST: 09:00 New York is 14:00Z in winter, 13:00Z in summer
    const morning = { type: 'local_time', from: '09:00', to: '10:00' };
    expect(one(morning, { timeZone: 'America/New_York' }, clockAt('2026-03-06T14:30:00Z')).matched).toBe(true);
    expect(one(morning, { timeZone: 'America/New_York' }, clockAt('2026-03-09T14:30:00Z')).matched).toBe(false); // 10:30 EDT
    expect(one(morning, { timeZone: 'America/New_York' }, clockAt('2026-03-09T13:30:00Z')).matched).toBe(true); // 09:30 EDT
    expect(one(morning, { timeZone: 'America/New_York' }, clockAt('2026-03-06T13:30:00Z')).matched).toBe(false);
    // unknown or invalid customer zone: not matched, and said so
    expect(one(office, {})).toEqual({ matched: false, detail: 'customer time zone unknown' });
    expect(one(office, { timeZone: 'Nowhere/Land' }).detail).toBe('customer time zone "Nowhere/Land" is not valid');
  });
});

describe('groups, stop and merging', () => {
  it('all groups must hold; within a group all / any', () => {
    const set = rules([
      {
        id: 'cn-refund',
        name: 'Chinese refund requests on WeChat',
        conditions: [
          { match: 'all', conditions: [{ type: 'language', in: ['zh'] }, { type: 'channel', in: ['wechat_oa', 'wecom_kf'] }] },
          { match: 'any', conditions: [{ type: 'keywords', any: ['退款', '退货'] }, { type: 'intent', in: ['refund'], minConfidence: 0.8 }] },
        ],
        actions: [{ type: 'route_skills', skills: [{ skill: 'refund', minLevel: 3 }] }],
      },
    ]);
    const base = { language: 'zh-CN', channelType: 'wechat_oa' as const };
    expect(evaluateRules(set, facts({ ...base, messageText: '怎么退货' }), MONDAY_10_CST).decision.target).toEqual({
      type: 'skills',
      skills: [{ skill: 'refund', minLevel: 3 }],
    });
    expect(evaluateRules(set, facts({ ...base, intent: { name: 'refund', confidence: 0.85 } }), MONDAY_10_CST).matchedRuleIds).toEqual(['cn-refund']);
    expect(evaluateRules(set, facts({ ...base, messageText: '你好' }), MONDAY_10_CST).matchedRuleIds).toEqual([]);
    expect(evaluateRules(set, facts({ ...base, channelType: 'web', messageText: '退款' }), MONDAY_10_CST).matchedRuleIds).toEqual([]);
    const none = evaluateRules(set, facts(), MONDAY_10_CST);
    expect(none.decision.target).toBeNull();
    expect(none.explanation).toEqual(['No rule matched; the default routing applies.']);
  });

  it('non-routing rules continue by default; routing rules stop; first decision wins, tags merge', () => {
    const set = rules([
      { id: 'tag-wechat', name: 'Tag WeChat', conditions: [{ match: 'all', conditions: [{ type: 'channel', in: ['wechat_oa'] }] }], actions: [{ type: 'add_tags', tags: ['wechat'] }] },
      { id: 'urgent', name: 'Complaints urgent', conditions: [{ match: 'all', conditions: [{ type: 'keywords', any: ['投诉'] }] }], actions: [{ type: 'set_priority', priority: 'urgent' }, { type: 'set_sla', slaPolicyId: 'sla-fast' }, { type: 'add_tags', tags: ['complaint', 'WeChat'] }] },
      { id: 'disabled', name: 'Disabled', enabled: false, conditions: [], actions: [{ type: 'route_agent', agentId: ALICE }] },
      vipRule,
      fallbackRule,
    ]);
    const r = evaluateRules(set, facts({ channelType: 'wechat_oa', messageText: '我要投诉', contact: { tags: ['vip'] } }), MONDAY_10_CST);
    expect(r.matchedRuleIds).toEqual(['tag-wechat', 'urgent', 'vip']);
    expect(r.rules.map((t) => t.status)).toEqual(['matched', 'matched', 'disabled', 'matched', 'not_reached']);
    expect(r.decision).toEqual({
      target: { type: 'team', teamId: VIP_TEAM },
      priority: 'urgent',
      slaPolicyId: 'sla-fast',
      tags: ['wechat', 'complaint'],
      sources: { target: 'vip', priority: 'urgent', slaPolicyId: 'urgent', tags: { wechat: 'tag-wechat', complaint: 'urgent' } },
    });
    const vipTrace = r.rules[3]!;
    expect(vipTrace.applied).toEqual([`route_team → team ${VIP_TEAM}`]);
    expect(vipTrace.overridden).toEqual(['set_priority high: priority was already set to urgent by rule urgent']);
    expect(vipTrace.stopped).toBe(true);
    expect(r.explanation).toContain('Priority urgent (rule "Complaints urgent" (urgent)).');
    expect(r.explanation).toContain('Tags: wechat, complaint.');
  });

  it('stop: false lets a routing rule continue; stop: true stops a non-routing rule', () => {
    const set = rules([
      { id: 'a', name: 'A', stop: false, conditions: [], actions: [{ type: 'route_agent', agentId: ALICE, fallbackTeamId: SALES_TEAM }] },
      { id: 'b', name: 'B', conditions: [], actions: [{ type: 'route_team', teamId: SUPPORT_TEAM }, { type: 'add_tags', tags: ['b'] }] },
      { id: 'c', name: 'C', stop: true, conditions: [], actions: [{ type: 'add_tags', tags: ['c'] }] },
    ]);
    const r = evaluateRules(set, facts(), MONDAY_10_CST);
    expect(r.matchedRuleIds).toEqual(['a', 'b']);
    expect(r.decision.target).toEqual({ type: 'agent', agentId: ALICE, fallbackTeamId: SALES_TEAM });
    expect(r.decision.tags).toEqual(['b']);
    expect(r.rules[1]?.overridden).toEqual([`route_team → team ${SUPPORT_TEAM}: the target was already set by rule a`]);
    expect(ruleStops(set[0]!)).toBe(false);
    expect(ruleStops(set[1]!)).toBe(true);
    expect(ruleStops(set[2]!)).toBe(true);
  });

  it('a rule that matches but does not route says so', () => {
    const set = rules([{ id: 't', name: 'T', conditions: [], actions: [{ type: 'add_tags', tags: ['x'] }] }]);
    expect(evaluateRules(set, facts(), MONDAY_10_CST).explanation).toEqual([
      'Rule #1 "T" (t) matched: no conditions.',
      'No matching rule routes the conversation; the default routing applies.',
      'Tags: x.',
    ]);
  });

  it('schedules may also come from a lookup function', () => {
    const schedule = validateSchedule({ name: 's', timeZone: 'UTC', weekly: {} });
    const set = rules([
      {
        id: 'night',
        name: 'Outside hours → sales',
        conditions: [{ match: 'all', conditions: [{ type: 'business_hours', scheduleId: CN_HOURS, state: 'outside' }] }],
        actions: [{ type: 'route_team', teamId: SALES_TEAM }],
      },
    ]);
    const r = evaluateRules(set, facts(), MONDAY_10_CST, { schedules: (id) => (id === CN_HOURS ? schedule : undefined) });
    expect(r.decision.target).toEqual({ type: 'team', teamId: SALES_TEAM });
  });
});

describe('validateRuleSet', () => {
  it('accepts a valid set, fills defaults, and returns no warnings', () => {
    const { rules: set, warnings } = validateRuleSet([vipRule, fallbackRule], catalog);
    expect(warnings).toEqual([]);
    expect(set[0]).toMatchObject({ enabled: true, id: 'vip' });
    expect(set[1]?.conditions).toEqual([]);
  });

  it('rejects references to missing teams, agents, skills, inboxes and schedules, naming each field', () => {
    const issues = issuesOf(() =>
      validateRuleSet(
        [
          vipRule,
          {
            id: 'bad',
            name: 'Bad refs',
            enabled: false, // disabled rules are checked too
            conditions: [
              { match: 'all', conditions: [{ type: 'inbox', in: [WEB_INBOX, MISSING] }, { type: 'business_hours', scheduleId: MISSING, state: 'inside' }] },
            ],
            actions: [{ type: 'route_skills', skills: [{ skill: 'refund', minLevel: 2 }, { skill: 'german' }, { skill: 'English' }], teamId: MISSING }],
          },
          { id: 'team', name: 'Missing team', conditions: [], actions: [{ type: 'route_team', teamId: MISSING }] },
          { id: 'agent', name: 'Missing agent', conditions: [], actions: [{ type: 'route_agent', agentId: MISSING, fallbackTeamId: MISSING }] },
        ],
        catalog,
      ),
    );
    expect(issues.map((i) => i.path)).toEqual([
      'body.rules.1.conditions.0.conditions.0.in.1',
      'body.rules.1.conditions.0.conditions.1.scheduleId',
      'body.rules.1.actions.0.skills.1.skill',
      'body.rules.1.actions.0.skills.2.skill',
      'body.rules.1.actions.0.teamId',
      'body.rules.2.actions.0.teamId',
      'body.rules.3.actions.0.agentId',
      'body.rules.3.actions.0.fallbackTeamId',
    ]);
    expect(issues[2]?.message).toBe('no agent skill named "german" in this workspace; define it first');
    expect(issues[5]?.message).toBe(`no team ${MISSING} in this workspace`);
  });

  it('checks SLA policy ids only when the catalog lists them', () => {
    const set = [{ id: 's', name: 's', conditions: [], actions: [{ type: 'set_sla', slaPolicyId: 'gold' }] }];
    expect(validateRuleSet(set, catalog).rules).toHaveLength(1);
    expect(issuesOf(() => validateRuleSet(set, { ...catalog, slaPolicyIds: ['silver'] }))).toEqual([
      { path: 'body.rules.0.actions.0.slaPolicyId', message: 'no SLA policy gold in this workspace' },
    ]);
  });

  it('rejects empty condition groups, duplicate ids, contradictory ranges, double routing, with paths', () => {
    const issues = issuesOf(() =>
      validateRuleSet(
        [
          { id: 'r1', name: 'Empty group', conditions: [{ match: 'any', conditions: [] }], actions: [{ type: 'add_tags', tags: ['x'] }] },
          { id: 'r1', name: 'Duplicate', conditions: [], actions: [{ type: 'add_tags', tags: ['x'] }] },
          {
            id: 'r3',
            name: 'Impossible range',
            conditions: [
              { match: 'all', conditions: [{ type: 'attribute_compare', key: 'age', op: 'gt', value: 60 }] },
              { match: 'all', conditions: [{ type: 'attribute_compare', key: 'age', op: 'lt', value: 18 }] },
            ],
            actions: [{ type: 'add_tags', tags: ['x'] }],
          },
          {
            id: 'r4',
            name: 'Two targets',
            conditions: [],
            actions: [{ type: 'route_team', teamId: VIP_TEAM }, { type: 'route_agent', agentId: ALICE }],
          },
          { id: 'r5', name: 'No actions', conditions: [], actions: [] },
        ],
        catalog,
      ),
    );
    expect(issues).toEqual([
      { path: 'body.rules.0.conditions.0.conditions', message: expect.stringContaining('empty condition group') },
      { path: 'body.rules.2.conditions.1.conditions.0.value', message: expect.stringMatching(/contradicts conditions\.0\.conditions\.0 on attribute "age": no number is > 60 and < 18/) },
      { path: 'body.rules.3.actions.1.type', message: expect.stringContaining('at most one routing action') },
      { path: 'body.rules.4.actions', message: 'a rule needs at least one action' },
      { path: 'body.rules.1.id', message: 'duplicate rule id "r1" (also rules.0)' },
    ]);
  });

  it('contradictions: touching bounds, equality outside a range; compatible ones pass', () => {
    const ranged = (conds: unknown[]) => [{ id: 'r', name: 'r', conditions: [{ match: 'all', conditions: conds }], actions: [{ type: 'add_tags', tags: ['x'] }] }];
    const cmp = (op: string, value: number) => ({ type: 'attribute_compare', key: 'n', op, value });
    expect(issuesOf(() => validateRuleSet(ranged([cmp('gte', 5), cmp('lt', 5)]), catalog))).toHaveLength(1);
    expect(issuesOf(() => validateRuleSet(ranged([cmp('gte', 5), { type: 'attribute_equals', key: 'n', value: 4 }]), catalog))).toHaveLength(1);
    expect(issuesOf(() => validateRuleSet(ranged([{ type: 'attribute_equals', key: 'n', value: 1 }, { type: 'attribute_equals', key: 'n', value: 2 }]), catalog))).toHaveLength(1);
    expect(validateRuleSet(ranged([cmp('gte', 5), cmp('lte', 5)]), catalog).rules).toHaveLength(1);
    expect(validateRuleSet(ranged([cmp('gt', 5), cmp('lt', 10), { type: 'attribute_equals', key: 'n', value: 7 }]), catalog).rules).toHaveLength(1);
    // an `any` group of several conditions is not a contradiction
    const anyGroup = [{ id: 'r', name: 'r', conditions: [{ match: 'any', conditions: [cmp('gt', 60), cmp('lt', 18)] }], actions: [{ type: 'add_tags', tags: ['x'] }] }];
    expect(validateRuleSet(anyGroup, catalog).rules).toHaveLength(1);
  });

  it('rejects bad shapes with field paths (unknown fields, bad ids, bad times)', () => {
    const issues = issuesOf(() =>
      validateRuleSet(
        [
          {
            id: 'has space',
            name: 'x',
            colour: 'red',
            conditions: [{ match: 'all', conditions: [{ type: 'local_time', from: '9:00', to: '18:00' }, { type: 'team', teamId: VIP_TEAM }] }],
            actions: [{ type: 'set_priority', priority: 'critical' }],
          },
        ],
        catalog,
        { path: 'body.ruleSet' },
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'body.ruleSet.0.actions.0.priority',
      'body.ruleSet.0.colour',
      'body.ruleSet.0.conditions.0.conditions.0.from',
      'body.ruleSet.0.conditions.0.conditions.1.type',
      'body.ruleSet.0.id',
    ]);
  });

  it('flags a rule after an unconditional stopping rule as unreachable', () => {
    const { warnings } = validateRuleSet([fallbackRule, vipRule, { ...vipRule, id: 'vip-off', enabled: false }], catalog);
    expect(warnings).toEqual([
      {
        path: 'body.rules.1',
        ruleId: 'vip',
        code: 'unreachable',
        message: expect.stringContaining('"Everyone else to support" (default, body.rules.0) has no conditions'),
      },
    ]);
  });

  it('flags identical, subset and implied conditions; not when the earlier rule continues or is disabled', () => {
    const route = [{ type: 'route_team', teamId: SALES_TEAM }] as const;
    const c = (conditions: unknown[], match = 'all') => [{ match, conditions }];
    const set: RoutingRuleInput[] = [
      { id: 'web', name: 'Web', conditions: c([{ type: 'channel', in: ['web', 'api'] }]) as never, actions: [...route] },
      // implied: web ⊂ [web, api]
      { id: 'web-vip', name: 'Web VIP', conditions: c([{ type: 'channel', in: ['web'] }, { type: 'tag_has', tag: 'vip' }]) as never, actions: [...route] },
      // not implied: email is not in [web, api]
      { id: 'email', name: 'Email', conditions: c([{ type: 'channel', in: ['email'] }]) as never, actions: [...route] },
      // identical to `email` → unreachable
      { id: 'email-2', name: 'Email again', conditions: c([{ type: 'channel', in: ['email'] }]) as never, actions: [{ type: 'route_team', teamId: VIP_TEAM }] },
      // earlier `tagger` does not stop, so `tagged` stays reachable
      { id: 'tagger', name: 'Tagger', conditions: c([{ type: 'tag_has', tag: 'x' }]) as never, actions: [{ type: 'add_tags', tags: ['y'] }] },
      { id: 'tagged', name: 'Tagged', conditions: c([{ type: 'tag_has', tag: 'x' }]) as never, actions: [...route] },
      // disabled stopper shadows nothing
      { id: 'off', name: 'Off', enabled: false, conditions: c([{ type: 'tag_has', tag: 'z' }]) as never, actions: [...route] },
      { id: 'z', name: 'Z', conditions: c([{ type: 'tag_has', tag: 'Z' }]) as never, actions: [...route] },
      // ltv > 1000 implies ltv ≥ 500 (rule 'z' has no ltv condition, so it does not shadow)
      { id: 'big', name: 'Big', conditions: c([{ type: 'attribute_compare', key: 'ltv', op: 'gte', value: 500 }]) as never, actions: [...route] },
      { id: 'bigger', name: 'Bigger', conditions: c([{ type: 'attribute_compare', key: 'ltv', op: 'gt', value: 1000 }]) as never, actions: [...route] },
      // an `any` group: tag vip or tier=vip shadows a later rule requiring tag vip (and more)
      { ...vipRule, id: 'vip-any' },
      { id: 'vip-cn', name: 'VIP Chinese', conditions: [{ match: 'all', conditions: [{ type: 'tag_has', tag: 'VIP' }, { type: 'language', in: ['zh'] }] }], actions: [...route] },
    ];
    const { warnings } = validateRuleSet(set, catalog);
    expect(warnings.map((w) => [w.ruleId, w.path])).toEqual([
      ['web-vip', 'body.rules.1'],
      ['email-2', 'body.rules.3'],
      ['bigger', 'body.rules.9'],
      ['vip-cn', 'body.rules.11'],
    ]);
    expect(warnings[1]?.message).toBe(
      'rule "Email again" (email-2) can never run: the earlier rule "Email" (email, body.rules.2) matches every conversation this rule matches and stops the evaluation; move this rule above it, or narrow or un-stop the earlier rule',
    );
  });

  it('the save-body contract reports the same problems under body.rules', () => {
    const r = SaveRoutingRulesBody.safeParse({ rules: [fallbackRule, { ...fallbackRule }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['rules.1.id']);
    expect(RoutingRule.safeParse({ ...vipRule, conditions: [{ match: 'all', conditions: [] }] }).success).toBe(false);
  });
});
