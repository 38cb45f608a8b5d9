import { useMemo, useState } from 'react';
import { Alert, App, Badge, Button, Input, Popconfirm, Space, Table, Tabs, Tag, Tooltip, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, ExperimentOutlined, PlusOutlined, SearchOutlined, WarningOutlined } from '@ant-design/icons';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { AdminPage } from '../../admin/shared/AdminPage.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { rowAttrs } from '../../admin/shared/table.ts';
import { useLoad } from '../../admin/shared/useLoad.ts';
import { formatDate } from '../../admin/shared/users.ts';
import { EntitiesEditor } from './EntitiesEditor.tsx';
import { IntentDrawer } from './IntentDrawer.tsx';
import { MisrecognizedTab } from './MisrecognizedTab.tsx';
import { TrainingReport } from './TrainingReport.tsx';
import { taggedIssues, WEAK_F1, type BotIntent, type BotTrainingReport, type Misrecognized } from './types.ts';

/**
 * The bot's language training (the AI training loop): intents and their example utterances, workspace
 * entities, "Train" with its cross-validated report, and the real messages the bot did not understand.
 */
export default function IntentsPage() {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const [tab, setTab] = useState('intents');
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<BotIntent | null | undefined>(undefined);
  const [training, setTraining] = useState(false);
  const [trainError, setTrainError] = useState<string | null>(null);

  const intents = useLoad(() => api<BotIntent[]>('GET', '/bot/intents'), []);
  const report = useLoad(() => api<BotTrainingReport>('GET', '/bot/training-report'), []);
  const mis = useLoad(() => api<Misrecognized[]>('GET', '/bot/misrecognized'), []);

  const issues = taggedIssues(report.data);
  const quality = useMemo(() => new Map((report.data?.perIntent ?? []).map((q) => [q.intent, q])), [report.data]);
  const list = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (intents.data ?? []).filter((i) => !f || i.name.toLowerCase().includes(f) || i.description.toLowerCase().includes(f)).sort((a, b) => a.name.localeCompare(b.name));
  }, [intents.data, filter]);
  // Examples edited after the last training are not in the model yet: say so next to the Train button.
  const stale = report.data?.trainedAt ? (intents.data ?? []).some((i) => i.updatedAt > report.data!.trainedAt!) : (intents.data?.length ?? 0) > 0;

  const train = async () => {
    setTraining(true);
    setTrainError(null);
    try {
      const r = await api<BotTrainingReport>('POST', '/bot/train');
      report.setData(() => r);
      setTab('report');
      if (r.status === 'trained') message.success(t('bot.train.done', { accuracy: r.accuracy === null ? '—' : `${(r.accuracy * 100).toFixed(1)}%` }));
      else message.error(t('bot.train.failed'));
    } catch (err) {
      setTrainError(errorText(err));
    } finally {
      setTraining(false);
    }
  };

  const remove = async (i: BotIntent) => {
    try {
      await api('DELETE', `/bot/intents/${i.id}`);
      intents.setData((l) => l?.filter((x) => x.id !== i.id));
      message.success(t('admin.deleted'));
    } catch (err) {
      message.error(errorText(err));
    }
  };

  const saved = (i: BotIntent) => {
    intents.setData((l) => [...(l ?? []).filter((x) => x.id !== i.id), i]);
    setEditing(undefined);
    message.success(t('bot.saved'));
  };

  const openByName = (name: string) => {
    const i = intents.data?.find((x) => x.name === name);
    if (i) setEditing(i);
  };

  const intentsTab = (
    <>
      <Input allowClear prefix={<SearchOutlined />} placeholder={t('bot.intents.search')} style={{ width: 300, marginBottom: 12 }} value={filter} onChange={(e) => setFilter(e.target.value)} />
      <Table<BotIntent>
        rowKey="id"
        size="middle"
        loading={intents.loading}
        dataSource={list}
        pagination={list.length > 50 ? { pageSize: 50 } : false}
        locale={{ emptyText: t(filter ? 'admin.noMatch' : 'bot.intents.empty') }}
        onRow={(i) => rowAttrs({ 'data-testid': 'intent-row', 'data-intent': i.name })}
        columns={[
          {
            title: t('bot.intents.name'),
            dataIndex: 'name',
            render: (name: string, i) => {
              const mine = issues.filter((x) => x.intent === name);
              return (
                <Space size={6}>
                  <Typography.Link strong onClick={() => setEditing(i)} data-testid="intent-row-name">{name}</Typography.Link>
                  {mine.length > 0 && (
                    <Tooltip title={mine.map((x) => x.message).join('\n')}>
                      <WarningOutlined style={{ color: mine.some((x) => x.severity === 'error') ? '#cf1322' : '#faad14' }} data-testid="intent-issue" />
                    </Tooltip>
                  )}
                </Space>
              );
            },
          },
          { title: t('admin.description'), dataIndex: 'description', render: (d: string) => d || <Typography.Text type="secondary">—</Typography.Text> },
          {
            title: t('bot.intents.examples'),
            key: 'examples',
            width: 110,
            align: 'right',
            sorter: (a, b) => a.examples.length - b.examples.length,
            render: (_: unknown, i) => <span data-testid="intent-examples-count" style={{ color: i.examples.length < 5 ? '#d46b08' : undefined }}>{i.examples.length}</span>,
          },
          {
            title: 'F1',
            key: 'f1',
            width: 90,
            align: 'right',
            render: (_: unknown, i) => {
              const q = quality.get(i.name);
              return q ? <span style={{ color: q.f1 < WEAK_F1 ? '#cf1322' : undefined }}>{q.f1.toFixed(2)}</span> : <Typography.Text type="secondary">—</Typography.Text>;
            },
          },
          { title: t('admin.updatedAt'), dataIndex: 'updatedAt', width: 170, render: (d: string) => formatDate(d, locale, true) },
          {
            title: t('common.actions'),
            key: 'actions',
            width: 160,
            render: (_: unknown, i) => (
              <Space size={0}>
                <Button size="small" type="link" icon={<EditOutlined />} onClick={() => setEditing(i)}>{t('common.edit')}</Button>
                <Popconfirm title={t('bot.intents.deleteConfirm', { name: i.name })} description={t('bot.intents.deleteHint')} onConfirm={() => remove(i)} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')}>
                  <Button size="small" type="link" danger icon={<DeleteOutlined />}>{t('common.delete')}</Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
    </>
  );

  return (
    <AdminPage
      title={t('nav.botIntents')}
      description={t('bot.intents.description')}
      error={intents.error ? errorText(intents.error) : null}
      testId="intents-page"
      extra={
        <>
          <Button icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="intent-create">{t('bot.intents.new')}</Button>
          <Badge dot={stale && !training} offset={[-4, 4]}>
            <Tooltip title={stale ? t('bot.train.stale') : undefined}>
              <Button type="primary" icon={<ExperimentOutlined />} loading={training} onClick={() => void train()} data-testid="bot-train">
                {training ? t('bot.train.running') : t('bot.train')}
              </Button>
            </Tooltip>
          </Badge>
        </>
      }
    >
      {trainError && <Alert type="error" showIcon closable title={trainError} style={{ marginBottom: 12 }} data-testid="train-error" />}
      <Tabs
        activeKey={tab}
        onChange={setTab}
        items={[
          { key: 'intents', label: <span>{t('bot.tab.intents')} <Tag style={{ marginInlineStart: 4 }}>{intents.data?.length ?? 0}</Tag></span>, children: intentsTab },
          {
            key: 'report',
            label: (
              <span data-testid="tab-report">
                {t('bot.tab.report')}
                {issues.some((i) => i.severity === 'error') && <WarningOutlined style={{ color: '#cf1322', marginInlineStart: 6 }} />}
              </span>
            ),
            children: report.data ? (
              <TrainingReport report={report.data} onOpenIntent={openByName} />
            ) : report.error ? (
              <Alert type="error" showIcon title={errorText(report.error)} />
            ) : null,
          },
          { key: 'entities', label: <span data-testid="tab-entities">{t('bot.tab.entities')}</span>, children: <EntitiesEditor /> },
          {
            key: 'misrecognized',
            label: (
              <span data-testid="tab-misrecognized">
                {t('bot.tab.misrecognized')} {(mis.data?.length ?? 0) > 0 && <Badge count={mis.data!.length} size="small" style={{ marginInlineStart: 4 }} />}
              </span>
            ),
            children: mis.error ? <Alert type="error" showIcon title={errorText(mis.error)} /> : <MisrecognizedTab list={mis} intents={intents.data ?? []} onAdded={() => void intents.reload()} />,
          },
        ]}
      />
      <IntentDrawer
        open={editing !== undefined}
        intent={editing ?? null}
        issues={editing ? issues.filter((i) => i.intent === editing.name) : []}
        onClose={() => setEditing(undefined)}
        onSaved={saved}
      />
    </AdminPage>
  );
}
