import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Col, Flex, Row, Spin, Tag, Typography } from 'antd';
import { PlusOutlined, SaveOutlined, UndoOutlined } from '@ant-design/icons';
import type { RuleSetWarning } from '@huiliu/contracts/routing-rules';
import { api, ApiError } from '../lib/api.ts';
import { formatDateTime } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { RuleDrawer } from './rules/RuleDrawer.tsx';
import { RuleList } from './rules/RuleList.tsx';
import { newKey, newRuleId, normalizeRule, type RuleDraft, type WorkingRule } from './rules/ruleModel.ts';
import type { RuleContext } from './rules/summary.tsx';
import { TestPanel, type TestResponse } from './rules/TestPanel.tsx';
import { useInboxes, useNameIndex, useSchedules, useTeams, useUsers } from './shared/directory.ts';
import { relativeTo, splitApiError, type Issue } from './shared/issues.ts';
import { localizeIssues } from './shared/serverText.ts';
import { RoutingPage } from './shared/RoutingPage.tsx';
import type { AgentPresence, RuleSetResponse } from './shared/types.ts';
import { useLoad } from './shared/useLoad.ts';

const snapshot = (rules: RuleDraft[]) => JSON.stringify(rules.map(normalizeRule));
/** Quiet time after an edit of the list before it is checked by the server. */
const LIVE_CHECK_MS = 600;

/** `body.rules.3` / `rules.3.actions.0` → 3. */
const ruleIndexOf = (path: string): number | null => {
  const m = /^(?:body\.)?rules\.(\d+)(?:\.|$)/.exec(path);
  return m ? Number(m[1]) : null;
};

/** Issues of a rule list (paths `rules.N.…`) per working-rule key, relative to the rule. */
function issuesByKey(issues: Issue[], keys: string[]): { byKey: Map<string, Issue[]>; rest: Issue[] } {
  const byKey = new Map<string, Issue[]>();
  const rest: Issue[] = [];
  for (const i of issues) {
    const n = ruleIndexOf(i.path);
    const key = n === null ? undefined : keys[n];
    if (key === undefined) {
      rest.push(i);
      continue;
    }
    byKey.set(key, [...(byKey.get(key) ?? []), ...relativeTo([i], `rules.${n}`)]);
  }
  return { byKey, rest };
}

function warningsByKey(warnings: RuleSetWarning[], keys: string[]): Map<string, RuleSetWarning> {
  const m = new Map<string, RuleSetWarning>();
  for (const w of warnings) {
    const n = ruleIndexOf(w.path);
    const key = n === null ? undefined : keys[n];
    if (key) m.set(key, w);
  }
  return m;
}

/**
 * Routing rules: an ordered list edited locally (form drawer, drag / arrows, enable switches), tested against
 * a sample conversation at any time, and saved as a whole with PUT /routing/rules. The server validates what
 * the browser cannot (missing teams / agents / skills) and reports it per field; those issues, and its
 * "unreachable rule" warnings, are shown on the rule they belong to.
 */
export default function RoutingRulesPage() {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const teams = useTeams();
  const users = useUsers();
  const inboxes = useInboxes();
  const schedules = useSchedules();
  const presence = useLoad(() => api<AgentPresence[]>('GET', '/presence'), []);

  const [loaded, setLoaded] = useState<RuleSetResponse | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [working, setWorking] = useState<WorkingRule[]>([]);
  const [saved, setSaved] = useState('[]');
  const [issues, setIssues] = useState<Map<string, Issue[]>>(new Map());
  const [listError, setListError] = useState<string | null>(null);
  const [warnings, setWarnings] = useState<Map<string, RuleSetWarning>>(new Map());
  const [editing, setEditing] = useState<{ key: string | null } | null>(null);
  const [scope, setScope] = useState('all');
  const [matched, setMatched] = useState<Set<string>>(new Set());
  const [conflict, setConflict] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const adopt = useCallback((r: RuleSetResponse, keys?: string[]) => {
    const next = r.rules.map((rule, i) => ({ key: keys?.[i] ?? newKey(), rule }));
    setLoaded(r);
    setWorking(next);
    setSaved(snapshot(r.rules));
    setWarnings(warningsByKey(r.warnings, next.map((w) => w.key)));
    setIssues(new Map());
    setListError(null);
    setConflict(null);
  }, []);

  const load = useCallback(async () => {
    try {
      adopt(await api<RuleSetResponse>('GET', '/routing/rules'));
      setLoadError(null);
    } catch (err) {
      setLoadError(splitApiError(err).rest);
    }
  }, [adopt]);
  useEffect(() => void load(), [load]);

  const dirty = loaded !== null && snapshot(working.map((w) => w.rule)) !== saved;
  // Leaving with unsaved rules loses them; the browser asks first.
  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [dirty]);

  // Live check of the edited list: the test endpoint validates the given rules exactly like a save (missing
  // teams / agents / skills) and reports unreachable rules, without storing anything. So warnings and errors
  // follow each reorder / toggle / edit instead of going stale until the next save.
  const firstInbox = inboxes.data?.[0];
  useEffect(() => {
    const keys = working.map((w) => w.key);
    // Back to the saved list (e.g. moved a rule down and up again): the saved warnings apply again.
    if (!dirty && loaded) setWarnings(warningsByKey(loaded.warnings, keys));
    if (!dirty || !firstInbox) return;
    let cancelled = false;
    const timer = setTimeout(() => {
      const body = { rules: working.map((w) => normalizeRule(w.rule)), facts: { channelType: firstInbox.channelType, inboxId: firstInbox.id, contact: {} } };
      api<TestResponse>('POST', '/routing/rules/test', body)
        .then((r) => {
          if (cancelled) return;
          setWarnings(warningsByKey(r.warnings, keys));
          setIssues(new Map());
        })
        .catch((err: unknown) => {
          if (cancelled) return;
          const { issues: found } = splitApiError(err);
          if (found.length) setIssues(issuesByKey(localizeIssues(found, t), keys).byKey);
        });
    }, LIVE_CHECK_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [working, dirty, loaded, firstInbox, t]);

  const teamNames = useNameIndex(teams.data);
  const agentNames = useNameIndex(useMemo(() => users.data?.map((u) => ({ id: u.id, name: u.name })), [users.data]));
  const inboxNames = useNameIndex(inboxes.data);
  const scheduleNames = useNameIndex(schedules.data);
  const ctx: RuleContext = useMemo(() => ({ teams: teamNames, agents: agentNames, inboxes: inboxNames, schedules: scheduleNames }), [teamNames, agentNames, inboxNames, scheduleNames]);
  const knownSkills = useMemo(() => [...new Set((presence.data ?? []).flatMap((a) => Object.keys(a.skills)))].sort(), [presence.data]);

  const change = (next: WorkingRule[]) => {
    setWorking(next);
    setMatched(new Set());
  };

  const save = async (force = false) => {
    setSaving(true);
    setListError(null);
    const keys = working.map((w) => w.key);
    try {
      const body = { rules: working.map((w) => normalizeRule(w.rule)), ...(force || !loaded ? {} : { expectedVersion: loaded.version }) };
      const r = await api<RuleSetResponse>('PUT', '/routing/rules', body);
      adopt(r, keys);
      message.success(r.warnings.length ? t('routing.rules.savedWithWarnings', { n: r.warnings.length }) : t('routing.rules.saved'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setConflict(err.message);
        return;
      }
      const { issues: found, rest } = splitApiError(err);
      // A missing team / agent / skill / schedule: our lists are stale, so the editor still offered it.
      if (found.length) void Promise.all([teams.reload(), users.reload(), schedules.reload(), inboxes.reload(), presence.reload()]);
      const { byKey, rest: unplaced } = issuesByKey(localizeIssues(found, t), keys);
      setIssues(byKey);
      const texts = [rest, ...unplaced.map((i) => `${i.path}: ${i.message}`)].filter(Boolean);
      setListError(byKey.size ? [t('routing.rules.saveFailed', { n: byKey.size }), ...texts].join(' ') : texts.join(' ') || t('routing.rules.saveFailed', { n: 0 }));
    } finally {
      setSaving(false);
    }
  };

  const move = (from: number, to: number) => {
    if (to < 0 || to >= working.length) return;
    const next = [...working];
    const [item] = next.splice(from, 1);
    next.splice(to, 0, item!);
    change(next);
  };

  const editingRule = editing?.key ? working.find((w) => w.key === editing.key) : undefined;
  const takenIds = useMemo(() => new Set(working.filter((w) => w.key !== editing?.key).map((w) => w.rule.id)), [working, editing]);

  const applyRule = (rule: RuleDraft) => {
    if (editing?.key) {
      change(working.map((w) => (w.key === editing.key ? { ...w, rule } : w)));
      setIssues((m) => {
        const next = new Map(m);
        next.delete(editing.key!);
        return next;
      });
    } else change([...working, { key: newKey(), rule }]);
    setEditing(null);
  };

  const duplicate = (key: string) => {
    const i = working.findIndex((w) => w.key === key);
    const src = working[i];
    if (!src) return;
    const ids = new Set(working.map((w) => w.rule.id));
    const copy = { ...structuredClone(src.rule), id: newRuleId(`${src.rule.id}-copy`, ids), name: t('routing.rules.copyName', { name: src.rule.name }) };
    const next = [...working];
    next.splice(i + 1, 0, { key: newKey(), rule: copy });
    change(next);
  };

  const onTestResult = (r: TestResponse | null, testedKeys: string[]) => {
    if (!r) return setMatched(new Set());
    const byId = new Map(testedKeys.map((k) => [working.find((w) => w.key === k)?.rule.id, k]));
    setMatched(new Set(r.matchedRuleIds.map((id) => byId.get(id)).filter((k): k is string => Boolean(k))));
    // Warnings of the whole edited list are fresher than those of the last save.
    if (testedKeys.length === working.length) setWarnings(warningsByKey(r.warnings, testedKeys));
  };

  const onTestRuleIssues = (found: Issue[], testedKeys: string[]) => {
    const { byKey } = issuesByKey(localizeIssues(found, t), testedKeys);
    setIssues((m) => {
      const next = new Map(m);
      for (const k of testedKeys) next.delete(k);
      for (const [k, v] of byKey) next.set(k, v);
      return next;
    });
  };

  const updatedBy = loaded?.updatedBy ? (agentNames.get(loaded.updatedBy) ?? loaded.updatedBy) : null;
  return (
    <RoutingPage
      title={t('nav.routingRules')}
      description={t('routing.rules.description')}
      error={loadError}
      maxWidth={1500}
      extra={
        <>
          {dirty && <Tag color="orange" data-testid="routing-rule-dirty">{t('routing.unsaved')}</Tag>}
          {dirty && <Button icon={<UndoOutlined />} onClick={() => loaded && adopt(loaded, working.map((w) => w.key))}>{t('routing.discard')}</Button>}
          <Button icon={<PlusOutlined />} onClick={() => setEditing({ key: null })} disabled={!loaded} data-testid="routing-rule-new">{t('routing.rules.new')}</Button>
          <Button type="primary" icon={<SaveOutlined />} loading={saving} disabled={!dirty} onClick={() => void save()} data-testid="routing-rule-save">{t('routing.rules.save')}</Button>
        </>
      }
    >
      {conflict && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 12 }}
          title={t('routing.rules.conflict')}
          description={conflict}
          action={
            <Flex vertical gap={6}>
              <Button size="small" onClick={() => void load()}>{t('routing.rules.conflictReload')}</Button>
              <Button size="small" danger onClick={() => void save(true)}>{t('routing.rules.conflictOverwrite')}</Button>
            </Flex>
          }
        />
      )}
      {listError && <Alert type="error" showIcon closable={{ onClose: () => setListError(null) }} style={{ marginBottom: 12 }} title={listError} data-testid="routing-rule-save-error" />}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={15}>
          <Flex justify="space-between" align="center" style={{ marginBottom: 8 }}>
            <Typography.Text type="secondary">{t('routing.rules.orderHint')}</Typography.Text>
            {loaded && loaded.version > 0 && (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('routing.rules.version', { version: loaded.version, who: updatedBy ?? '—', time: loaded.updatedAt ? formatDateTime(loaded.updatedAt, locale) : '—' })}
              </Typography.Text>
            )}
          </Flex>
          {!loaded && !loadError ? (
            <Flex justify="center" style={{ padding: 48 }}><Spin /></Flex>
          ) : (
            <RuleList
              rules={working}
              ctx={ctx}
              issues={issues}
              warnings={warnings}
              matched={matched}
              onMove={move}
              onToggle={(key, enabled) => change(working.map((w) => (w.key === key ? { ...w, rule: { ...w.rule, enabled } } : w)))}
              onEdit={(key) => setEditing({ key })}
              onDuplicate={duplicate}
              onDelete={(key) => {
                change(working.filter((w) => w.key !== key));
                if (scope === key) setScope('all');
              }}
              onTest={(key) => setScope(key)}
            />
          )}
        </Col>
        <Col xs={24} xl={9}>
          <div>
            <TestPanel
              rules={working.map((w) => ({ key: w.key, rule: normalizeRule(w.rule) }))}
              scope={working.some((w) => w.key === scope) ? scope : 'all'}
              onScope={setScope}
              inboxes={inboxes.data ?? []}
              ctx={ctx}
              onResult={onTestResult}
              onRuleIssues={onTestRuleIssues}
            />
          </div>
        </Col>
      </Row>
      <RuleDrawer
        open={editing !== null}
        rule={editingRule?.rule ?? null}
        serverIssues={editingRule ? (issues.get(editingRule.key) ?? []) : []}
        takenIds={takenIds}
        conditionOptions={{ inboxes: inboxes.data ?? [], schedules: schedules.data ?? [] }}
        actionOptions={{ teams: teams.data ?? [], agents: (users.data ?? []).filter((u) => u.status === 'active').map((u) => ({ id: u.id, name: u.name })), skills: knownSkills }}
        onApply={applyRule}
        onClose={() => setEditing(null)}
      />
    </RoutingPage>
  );
}
