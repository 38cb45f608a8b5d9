import { useState } from 'react';
import { App, Button, Select, Space, Table, Typography } from 'antd';
import { CheckOutlined } from '@ant-design/icons';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { rowAttrs } from '../../admin/shared/table.ts';
import { formatDate } from '../../admin/shared/users.ts';
import type { Loaded } from '../../admin/shared/useLoad.ts';
import { pct, type BotIntent, type Misrecognized } from './types.ts';

/**
 * Real customer messages the bot did not understand: the training loop. Each can become an example of the
 * intent it should have matched (POST …/resolve { intent }) or be dismissed ({ intent: null }); either way
 * it leaves the list. Added examples count at the next training.
 */
export function MisrecognizedTab({ list, intents, onAdded }: { list: Loaded<Misrecognized[]>; intents: BotIntent[]; onAdded: (intent: string) => void }) {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const [choice, setChoice] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string | null>(null);

  const resolve = async (m: Misrecognized, intent: string | null) => {
    setBusy(m.id);
    try {
      await api('POST', `/bot/misrecognized/${m.id}/resolve`, { intent });
      list.setData((l) => l?.filter((x) => x.id !== m.id));
      if (intent) {
        message.success(t('bot.mis.added', { intent }));
        onAdded(intent);
      } else message.success(t('bot.mis.dismissed'));
    } catch (err) {
      message.error(errorText(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <Typography.Paragraph type="secondary">{t('bot.mis.hint')}</Typography.Paragraph>
      <Table<Misrecognized>
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data ?? []}
        locale={{ emptyText: t('bot.mis.empty') }}
        pagination={(list.data?.length ?? 0) > 20 ? { pageSize: 20 } : false}
        onRow={(m) => rowAttrs({ 'data-testid': 'mis-row', 'data-mis-id': m.id })}
        columns={[
          { title: t('bot.mis.text'), dataIndex: 'text', render: (s: string) => <span style={{ wordBreak: 'break-word' }}>{s}</span> },
          {
            title: t('bot.mis.guess'),
            key: 'guess',
            width: 180,
            render: (_: unknown, m) => (m.predictedIntent && m.predictedIntent !== 'oos' ? <span>{m.predictedIntent} <Typography.Text type="secondary">({pct(m.confidence, 0)})</Typography.Text></span> : <Typography.Text type="secondary">{t('bot.intents.outOfScope')}</Typography.Text>),
          },
          { title: t('admin.createdAt'), dataIndex: 'createdAt', width: 170, render: (d: string) => formatDate(d, locale, true) },
          {
            title: t('common.actions'),
            key: 'actions',
            width: 360,
            render: (_: unknown, m) => {
              const picked = choice[m.id] ?? m.predictedIntent ?? undefined;
              return (
                <Space size={6}>
                  <Select
                    size="small"
                    showSearch
                    style={{ width: 170 }}
                    placeholder={t('bot.mis.pick')}
                    value={picked && intents.some((i) => i.name === picked) ? picked : undefined}
                    onChange={(v: string) => setChoice((c) => ({ ...c, [m.id]: v }))}
                    options={intents.map((i) => ({ value: i.name, label: i.name }))}
                    data-testid="mis-intent"
                  />
                  <Button size="small" type="primary" icon={<CheckOutlined />} disabled={!picked || !intents.some((i) => i.name === picked)} loading={busy === m.id} onClick={() => void resolve(m, picked!)} data-testid="mis-add">
                    {t('bot.mis.add')}
                  </Button>
                  <Button size="small" onClick={() => void resolve(m, null)} disabled={busy === m.id} data-testid="mis-dismiss">{t('bot.mis.dismiss')}</Button>
                </Space>
              );
            },
          },
        ]}
      />
    </>
  );
}
