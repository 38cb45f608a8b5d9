import { useMemo, useState } from 'react';
import { Alert, App, Button, Card, Col, Form, InputNumber, Radio, Row, Select, Space, Tag, Typography } from 'antd';
import type { Team } from '@huiliu/contracts';
import type { BusinessSchedule } from '@huiliu/contracts/routing-rules';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { fieldStatus, splitApiError, type Issue } from '../shared/issues.ts';
import { localizeIssues } from '../shared/serverText.ts';
import { OVERFLOW_ACTIONS, STRATEGIES, type StrategyName, type TeamRouting, type TeamRoutingBody } from '../shared/types.ts';
import type { TeamSettings } from './teamSettings.ts';

/** Server defaults for a team nobody configured (team_routing row absent). */
const DEFAULT_STICKY_MINUTES = 1440;
const ALWAYS_OPEN = '__always_open__';

interface Draft {
  strategy?: StrategyName;
  stickyMinutes?: number | null;
  timeout?: 'none' | 'after';
  timeoutSeconds?: number | null;
  overflowAction?: string;
  overflowTeamId?: string;
  /** ALWAYS_OPEN for "no schedule". */
  schedule?: string;
}

function draftOf(cached: TeamSettings | null): Draft {
  const r = cached?.routing;
  const d: Draft = {};
  if (r) {
    d.strategy = r.strategy;
    d.stickyMinutes = r.stickyMinutes;
    d.timeout = r.queueTimeoutSeconds === null ? 'none' : 'after';
    d.timeoutSeconds = r.queueTimeoutSeconds;
    if (r.overflow) {
      d.overflowAction = r.overflow.action;
      if (typeof r.overflow.teamId === 'string') d.overflowTeamId = r.overflow.teamId;
    }
  }
  if (cached) d.schedule = cached.scheduleId ?? ALWAYS_OPEN;
  return d;
}

/**
 * One team's routing: strategy, sticky window, queue timeout with its overflow action, business hours.
 * Only changed fields are sent, so two admins editing different settings of a team do not undo each other.
 */
export function TeamRoutingCard(props: { team: Team; teams: Team[]; schedules: BusinessSchedule[]; workspaceId: string; cached: TeamSettings | null; onSaved: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { team } = props;
  const initial = useMemo(() => draftOf(props.cached), [props.cached]);
  const [draft, setDraft] = useState<Draft>(initial);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [other, setOther] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  const changed = <K extends keyof Draft>(k: K) => draft[k] !== initial[k];
  const overflowChanged = changed('overflowAction') || (draft.overflowAction === 'route_to_team' && changed('overflowTeamId'));
  const routingChanged = changed('strategy') || changed('stickyMinutes') || changed('timeout') || (draft.timeout === 'after' && changed('timeoutSeconds')) || overflowChanged;
  const scheduleChanged = changed('schedule') && draft.schedule !== undefined;
  const dirty = routingChanged || scheduleChanged;

  const save = async () => {
    const local: Issue[] = [];
    // No min/max on the inputs (they would clamp silently); out-of-range values are explained here.
    if (draft.strategy === 'sticky' && changed('stickyMinutes') && (draft.stickyMinutes == null || draft.stickyMinutes < 1 || draft.stickyMinutes > 43_200)) local.push({ path: 'stickyMinutes', message: t('routing.teams.stickyMin') });
    if (draft.timeout === 'after' && (draft.timeoutSeconds == null || draft.timeoutSeconds < 10 || draft.timeoutSeconds > 86_400)) local.push({ path: 'queueTimeoutSeconds', message: t('routing.teams.timeoutMin') });
    if (draft.overflowAction === 'route_to_team' && !draft.overflowTeamId) local.push({ path: 'overflow.teamId', message: t('routing.teams.overflowTeamRequired') });
    setIssues(local);
    setOther(null);
    if (local.length) return;

    const body: TeamRoutingBody = {};
    if (changed('strategy') && draft.strategy) body.strategy = draft.strategy;
    if (changed('stickyMinutes') && draft.stickyMinutes != null) body.stickyMinutes = draft.stickyMinutes;
    if (changed('timeout') || (draft.timeout === 'after' && changed('timeoutSeconds'))) body.queueTimeoutSeconds = draft.timeout === 'after' ? draft.timeoutSeconds! : null;
    if (overflowChanged && draft.overflowAction) body.overflow = draft.overflowAction === 'route_to_team' ? { action: 'route_to_team', teamId: draft.overflowTeamId } : { action: draft.overflowAction };

    setSaving(true);
    let saved = false;
    try {
      if (routingChanged) {
        await api<TeamRouting>('PUT', `/teams/${team.id}/routing`, body);
        saved = true;
      }
      if (scheduleChanged) {
        const scheduleId = draft.schedule === ALWAYS_OPEN ? null : draft.schedule!;
        await api<{ teamId: string; scheduleId: string | null }>('PUT', `/teams/${team.id}/schedule`, { scheduleId });
        saved = true;
      }
      message.success(t('routing.teams.saved', { name: team.name }));
    } catch (err) {
      const { issues: server, rest } = splitApiError(err);
      setIssues(localizeIssues(server, t));
      setOther(rest);
    } finally {
      setSaving(false);
      // Re-read what the server stored, even if the second request failed.
      if (saved) props.onSaved();
    }
  };

  const strategyOptions = STRATEGIES.map((s) => ({
    value: s,
    label: t(`routing.strategy.${s}`),
    desc: t(`routing.strategy.${s}.help`),
  }));
  const otherTeams = props.teams.filter((x) => x.id !== team.id);

  return (
    <Card
      size="small"
      data-testid="routing-team-row"
      data-team-id={team.id}
      title={
        <Space>
          <Typography.Text strong>{team.name}</Typography.Text>
          <Typography.Text type="secondary" style={{ fontWeight: 'normal' }}>{t('routing.teams.members', { n: team.memberIds.length })}</Typography.Text>
          {dirty && <Tag color="orange">{t('routing.unsaved')}</Tag>}
        </Space>
      }
      extra={
        <Space>
          {dirty && <Button size="small" onClick={() => { setDraft(initial); setIssues([]); setOther(null); }}>{t('routing.discard')}</Button>}
          <Button size="small" type="primary" disabled={!dirty} loading={saving} onClick={() => void save()} data-testid="routing-team-save">{t('common.save')}</Button>
        </Space>
      }
    >
      {other && <Alert type="error" showIcon title={other} style={{ marginBottom: 12 }} />}
      <Form layout="vertical" component="div">
        {/* The items' bottom margin would leave an empty band at the end of the card. */}
        <Row gutter={24} style={{ marginBottom: -16 }}>
          <Col xs={24} lg={9}>
            <Form.Item label={t('routing.teams.strategy')} {...fieldStatus(issues, 'strategy')} extra={draft.strategy ? t(`routing.strategy.${draft.strategy}.help`) : undefined}>
              <Select<StrategyName>
                value={draft.strategy}
                onChange={(v) => set({ strategy: v })}
                placeholder={t('routing.teams.keepSaved')}
                options={strategyOptions}
                optionRender={(o) => (
                  <div style={{ whiteSpace: 'normal', padding: '2px 0' }}>
                    <div>{o.data.label}</div>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>{o.data.desc}</Typography.Text>
                  </div>
                )}
                data-testid="routing-team-strategy"
              />
            </Form.Item>
            {draft.strategy === 'sticky' && (
              <Form.Item label={t('routing.teams.stickyMinutes')} extra={t('routing.teams.stickyHelp')} {...fieldStatus(issues, 'stickyMinutes')}>
                <Space.Compact>
                  <InputNumber precision={0} value={draft.stickyMinutes ?? null} placeholder={String(DEFAULT_STICKY_MINUTES)} onChange={(v) => set({ stickyMinutes: v })} style={{ width: 140 }} data-testid="routing-team-sticky" />
                  <Space.Addon>{t('routing.unit.minutes')}</Space.Addon>
                </Space.Compact>
              </Form.Item>
            )}
          </Col>
          <Col xs={24} lg={9}>
            <Form.Item label={t('routing.teams.timeout')} {...fieldStatus(issues, 'queueTimeoutSeconds')} extra={t('routing.teams.timeoutHelp')}>
              <Space wrap>
                <Radio.Group value={draft.timeout} onChange={(e) => set({ timeout: e.target.value as 'none' | 'after' })} data-testid="routing-team-timeout-mode">
                  <Radio value="none">{t('routing.teams.noTimeout')}</Radio>
                  <Radio value="after">{t('routing.teams.after')}</Radio>
                </Radio.Group>
                {draft.timeout === 'after' && (
                  <Space.Compact>
                    <InputNumber precision={0} value={draft.timeoutSeconds ?? null} onChange={(v) => set({ timeoutSeconds: v })} style={{ width: 110 }} data-testid="routing-team-timeout" />
                    <Space.Addon>{t('routing.unit.seconds')}</Space.Addon>
                  </Space.Compact>
                )}
              </Space>
            </Form.Item>
            {draft.timeout === 'after' && (
              <Form.Item label={t('routing.teams.overflow')} {...fieldStatus(issues.map((i) => (i.path === 'overflow.action' ? { ...i, path: 'overflow' } : i)), 'overflow')}>
                <Space.Compact style={{ width: '100%' }}>
                  <Select
                    value={draft.overflowAction}
                    onChange={(v: string) => set({ overflowAction: v })}
                    placeholder={t('routing.teams.keepSaved')}
                    style={{ width: draft.overflowAction === 'route_to_team' ? '50%' : '100%' }}
                    options={OVERFLOW_ACTIONS.map((a) => ({ value: a, label: t(`routing.overflow.${a}`) }))}
                    data-testid="routing-team-overflow"
                  />
                  {draft.overflowAction === 'route_to_team' && (
                    <Select
                      value={draft.overflowTeamId}
                      onChange={(v: string) => set({ overflowTeamId: v })}
                      placeholder={t('routing.teams.overflowTeam')}
                      style={{ width: '50%' }}
                      status={fieldStatus(issues, 'overflow.teamId').help ? 'error' : undefined}
                      options={otherTeams.map((x) => ({ value: x.id, label: x.name }))}
                      notFoundContent={t('routing.teams.noOtherTeam')}
                      data-testid="routing-team-overflow-team"
                    />
                  )}
                </Space.Compact>
                {fieldStatus(issues, 'overflow.teamId').help && <Typography.Text type="danger">{fieldStatus(issues, 'overflow.teamId').help}</Typography.Text>}
                {draft.overflowAction && <div><Typography.Text type="secondary" style={{ fontSize: 12 }}>{t(`routing.overflow.${draft.overflowAction}.help`)}</Typography.Text></div>}
              </Form.Item>
            )}
          </Col>
          <Col xs={24} lg={6}>
            <Form.Item label={t('routing.teams.hours')} {...fieldStatus(issues, 'scheduleId')} extra={draft.schedule === undefined ? undefined : draft.schedule === ALWAYS_OPEN ? t('routing.teams.alwaysOpenHelp') : t('routing.teams.hoursHelp')}>
              <Select
                value={draft.schedule}
                onChange={(v: string) => set({ schedule: v })}
                placeholder={t('routing.teams.keepSaved')}
                options={[{ value: ALWAYS_OPEN, label: t('routing.teams.alwaysOpen') }, ...props.schedules.map((s) => ({ value: s.id, label: `${s.name} (${s.timeZone})` }))]}
                data-testid="routing-team-schedule"
              />
            </Form.Item>
          </Col>
        </Row>
      </Form>
    </Card>
  );
}
