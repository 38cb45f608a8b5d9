import { useEffect, useMemo, useState } from 'react';
import { Alert, App, AutoComplete, Button, Col, Descriptions, Divider, Drawer, Flex, Form, InputNumber, Row, Space, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { ChannelType } from '@huiliu/contracts';
import { SkillName } from '@huiliu/contracts/routing-rules';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { fieldStatus, issuesAt, splitApiError, type Issue } from '../shared/issues.ts';
import { LoadBar, StatusBadge } from '../shared/presence.tsx';
import { localizeIssues } from '../shared/serverText.ts';
import type { AgentPresence } from '../shared/types.ts';

const CHANNELS = ChannelType.options;
/**
 * Same bounds as the server (UserRoutingBody): checked here to answer at once, the server stays the judge.
 * The number inputs have no min/max on purpose: antd would silently clamp a typed 0 to 1, and an admin who
 * typed 0 should read why it is refused rather than find another number saved.
 */
const MAX_CAPACITY = 1000;

interface SkillRow {
  key: number;
  name: string;
  level: number | null;
}

/**
 * Capacity, per-channel caps and skills of one agent. The form keeps skills as rows (a name may be mistyped
 * or doubled while editing) and turns them into the `{ skill: level }` record on save; the server names
 * skill problems by skill (`skills.<name>`), which is mapped back to the row with that name.
 */
export function AgentDrawer(props: { agent: AgentPresence | null; knownSkills: string[]; onClose: () => void; onSaved: (agent: AgentPresence) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const agent = props.agent;
  const [capacity, setCapacity] = useState<number | null>(5);
  const [caps, setCaps] = useState<Record<string, number | null>>({});
  const [skills, setSkills] = useState<SkillRow[]>([]);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [other, setOther] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (!agent) return;
    setCapacity(agent.capacity);
    setCaps({ ...agent.channelCapacities });
    setSkills(Object.entries(agent.skills).map(([name, level], i) => ({ key: i, name, level })));
    setIssues([]);
    setOther(null);
  }, [agent]);

  const validate = (): Issue[] => {
    const out: Issue[] = [];
    if (capacity === null || !Number.isInteger(capacity) || capacity < 1) out.push({ path: 'capacity', message: t('routing.agents.capacityMin') });
    else if (capacity > MAX_CAPACITY) out.push({ path: 'capacity', message: t('routing.agents.capacityMax', { max: MAX_CAPACITY }) });
    for (const [ch, v] of Object.entries(caps)) {
      if (v === null || v === undefined) continue;
      if (!Number.isInteger(v) || v < 1) out.push({ path: `channelCapacities.${ch}`, message: t('routing.agents.capacityMin') });
      else if (v > MAX_CAPACITY) out.push({ path: `channelCapacities.${ch}`, message: t('routing.agents.capacityMax', { max: MAX_CAPACITY }) });
    }
    const seen = new Set<string>();
    skills.forEach((s, i) => {
      const name = s.name.trim();
      if (!name) out.push({ path: `skillRows.${i}.name`, message: t('routing.required') });
      else if (!SkillName.safeParse(name).success) out.push({ path: `skillRows.${i}.name`, message: t('routing.agents.skillName') });
      else if (seen.has(name)) out.push({ path: `skillRows.${i}.name`, message: t('routing.agents.skillTwice', { name }) });
      seen.add(name);
      if (s.level === null || !Number.isInteger(s.level) || s.level < 1 || s.level > 10) out.push({ path: `skillRows.${i}.level`, message: t('routing.agents.levelRange') });
    });
    return out;
  };

  const save = async () => {
    if (!agent) return;
    const local = validate();
    setIssues(local);
    setOther(null);
    if (local.length) return;
    const channelCapacities = Object.fromEntries(Object.entries(caps).filter((e): e is [string, number] => typeof e[1] === 'number'));
    const body = { capacity: capacity!, channelCapacities, skills: Object.fromEntries(skills.map((s) => [s.name.trim(), s.level!])) };
    setSaving(true);
    try {
      const saved = await api<AgentPresence>('PUT', `/users/${agent.userId}/routing`, body);
      message.success(t('common.saved'));
      props.onSaved(saved);
    } catch (err) {
      const { issues: server, rest } = splitApiError(err);
      // `skills.<name>` → the row that has that name, so the message sits next to it.
      setIssues(
        localizeIssues(server, t).map((i) => {
          const m = /^skills\.(.+)$/.exec(i.path);
          if (!m) return i;
          const row = skills.findIndex((s) => s.name.trim() === m[1]);
          return row >= 0 ? { path: `skillRows.${row}.level`, message: i.message } : { path: 'skills', message: `${m[1]}: ${i.message}` };
        }),
      );
      setOther(rest);
    } finally {
      setSaving(false);
    }
  };

  const skillOptions = useMemo(() => props.knownSkills.map((s) => ({ value: s })), [props.knownSkills]);
  const nextKey = () => Math.max(0, ...skills.map((s) => s.key)) + 1;

  return (
    <Drawer
      open={agent !== null}
      onClose={props.onClose}
      size={560}
      title={agent ? t('routing.agents.editTitle', { name: agent.name }) : ''}
      destroyOnHidden
      footer={
        <Flex justify="flex-end" gap={8}>
          <Button onClick={props.onClose}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={() => void save()} data-testid="routing-agent-save">{t('common.save')}</Button>
        </Flex>
      }
    >
      {agent && (
        <Form layout="vertical" component="div">
          <Descriptions size="small" column={2} style={{ marginBottom: 16 }} items={[
            { key: 's', label: t('routing.agents.status'), children: <StatusBadge status={agent.status} /> },
            { key: 'l', label: t('routing.agents.load'), children: <LoadBar load={agent.load} capacity={agent.capacity} /> },
          ]} />
          {other && <Alert type="error" showIcon title={other} style={{ marginBottom: 16 }} />}
          <Form.Item label={t('routing.agents.capacity')} extra={t('routing.agents.capacityHelp')} required {...fieldStatus(issues, 'capacity')}>
            <InputNumber precision={0} value={capacity} onChange={setCapacity} style={{ width: 160 }} data-testid="routing-agent-capacity" status={issuesAt(issues, 'capacity').length ? 'error' : undefined} />
          </Form.Item>
          <Divider titlePlacement="start" plain style={{ marginTop: 8 }}>{t('routing.agents.channelCaps')}</Divider>
          <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>{t('routing.agents.channelCapsHelp')}</Typography.Paragraph>
          <Row gutter={16}>
            {CHANNELS.map((ch) => (
              <Col span={12} key={ch}>
                <Form.Item label={t(`routing.channel.${ch}`)} {...fieldStatus(issues, `channelCapacities.${ch}`)} style={{ marginBottom: 12 }}>
                  <InputNumber
                    precision={0}
                    value={caps[ch] ?? null}
                    onChange={(v) => setCaps((c) => ({ ...c, [ch]: v }))}
                    placeholder={t('routing.agents.noChannelCap')}
                    style={{ width: '100%' }}
                    data-testid={`routing-agent-cap-${ch}`}
                  />
                </Form.Item>
              </Col>
            ))}
          </Row>
          <Divider titlePlacement="start" plain style={{ marginTop: 0 }}>{t('routing.agents.skills')}</Divider>
          <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>{t('routing.agents.skillsHelp')}</Typography.Paragraph>
          {issuesAt(issues, 'skills').map((m) => <Alert key={m} type="error" title={m} style={{ marginBottom: 8 }} />)}
          {skills.map((s, i) => (
            <Flex key={s.key} gap={8} align="flex-start" data-testid="routing-agent-skill-row">
              <Form.Item style={{ flex: 1, marginBottom: 12 }} {...fieldStatus(issues, `skillRows.${i}.name`)}>
                <AutoComplete
                  value={s.name}
                  options={skillOptions.filter((o) => o.value.toLowerCase().includes(s.name.toLowerCase()) && !skills.some((x) => x.name === o.value))}
                  onChange={(v: string) => setSkills((rows) => rows.map((r) => (r.key === s.key ? { ...r, name: v } : r)))}
                  placeholder={t('routing.agents.skillPlaceholder')}
                  data-testid="routing-agent-skill-name"
                />
              </Form.Item>
              <Form.Item style={{ marginBottom: 12 }} {...fieldStatus(issues, `skillRows.${i}.level`)}>
                <Space.Compact>
                  <Space.Addon>{t('routing.agents.level')}</Space.Addon>
                  <InputNumber precision={0} value={s.level} onChange={(v) => setSkills((rows) => rows.map((r) => (r.key === s.key ? { ...r, level: v } : r)))} style={{ width: 80 }} data-testid="routing-agent-skill-level" />
                </Space.Compact>
              </Form.Item>
              <Button type="text" icon={<DeleteOutlined />} aria-label={t('common.delete')} onClick={() => setSkills((rows) => rows.filter((r) => r.key !== s.key))} />
            </Flex>
          ))}
          <Button type="dashed" icon={<PlusOutlined />} onClick={() => setSkills((rows) => [...rows, { key: nextKey(), name: '', level: 5 }])} data-testid="routing-agent-skill-add">
            {t('routing.agents.addSkill')}
          </Button>
        </Form>
      )}
    </Drawer>
  );
}
