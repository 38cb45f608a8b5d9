import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Empty, Flex, Input, Popconfirm, Radio, Select, Skeleton, Space, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined, SaveOutlined } from '@ant-design/icons';
import { ApiError, api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { INTENT_NAME_RE, type EntityDefinition } from './types.ts';

type EnumValue = { value: string; synonyms: string[] };
/** Edited locally; `key` keeps React rows stable while names change. */
type Draft = { key: number; name: string; kind: 'enum' | 'regex'; values: EnumValue[]; pattern: string };

const BUILT_INS = ['order_number', 'phone', 'email', 'amount', 'datetime', 'cn_id'];
let nextKey = 1;

function toDraft(e: EntityDefinition): Draft {
  return e.kind === 'enum'
    ? { key: nextKey++, name: e.name, kind: 'enum', values: e.values.map((v) => ({ value: v.value, synonyms: [...v.synonyms] })), pattern: '' }
    : { key: nextKey++, name: e.name, kind: 'regex', values: [], pattern: e.pattern };
}
function fromDraft(d: Draft): EntityDefinition {
  return d.kind === 'enum'
    ? { name: d.name.trim(), kind: 'enum', values: d.values.filter((v) => v.value.trim()).map((v) => ({ value: v.value.trim(), synonyms: v.synonyms.map((s) => s.trim()).filter(Boolean) })) }
    : { name: d.name.trim(), kind: 'regex', pattern: d.pattern };
}

/** The problem with a draft the browser can see by itself (the server checks everything again). */
function problem(d: Draft, all: Draft[], t: (k: string, v?: Record<string, string | number>) => string): string | null {
  if (!d.name.trim()) return t('bot.entities.nameRequired');
  if (!INTENT_NAME_RE.test(d.name.trim())) return t('bot.entities.nameInvalid');
  if (BUILT_INS.includes(d.name.trim())) return t('bot.entities.builtInName', { name: d.name.trim() });
  if (all.filter((x) => x.name.trim() === d.name.trim()).length > 1) return t('bot.entities.duplicate', { name: d.name.trim() });
  if (d.kind === 'enum' && d.values.filter((v) => v.value.trim()).length === 0) return t('bot.entities.noValues');
  if (d.kind === 'regex') {
    if (!d.pattern) return t('bot.entities.noPattern');
    try {
      new RegExp(d.pattern, 'u');
    } catch (e) {
      return t('bot.entities.badPattern', { error: errorText(e) });
    }
  }
  return null;
}

/**
 * Workspace entities: enums with synonyms ("顺丰" also said as "SF", "顺丰速运") and regular-expression
 * entities, saved as one document (PUT /bot/entities). Flows' ask steps fill slots from them; the built-in
 * ones (order numbers, phones, dates…) need no definition and are listed for reference.
 */
export function EntitiesEditor() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [drafts, setDrafts] = useState<Draft[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [sample, setSample] = useState<Record<number, string>>({});

  useEffect(() => {
    api<{ entities: EntityDefinition[] }>('GET', '/bot/entities')
      .then((r) => setDrafts(r.entities.map(toDraft)))
      .catch((e: unknown) => setLoadError(errorText(e)));
  }, []);

  const update = (key: number, change: Partial<Draft>) => {
    setDrafts((ds) => ds && ds.map((d) => (d.key === key ? { ...d, ...change } : d)));
    setDirty(true);
  };
  const add = (kind: Draft['kind']) => {
    setDrafts((ds) => [...(ds ?? []), { key: nextKey++, name: '', kind, values: kind === 'enum' ? [{ value: '', synonyms: [] }] : [], pattern: '' }]);
    setDirty(true);
  };
  const remove = (key: number) => {
    setDrafts((ds) => ds && ds.filter((d) => d.key !== key));
    setDirty(true);
  };

  const problems = (drafts ?? []).map((d) => problem(d, drafts ?? [], t));
  const save = async () => {
    if (!drafts || problems.some(Boolean)) return;
    setSaving(true);
    setSaveError(null);
    try {
      const r = await api<{ entities: EntityDefinition[] }>('PUT', '/bot/entities', { entities: drafts.map(fromDraft) });
      setDrafts(r.entities.map(toDraft));
      setDirty(false);
      message.success(t('bot.saved'));
    } catch (e) {
      // entities.N.… → the entity's name, so the admin knows which card to look at.
      const text = e instanceof ApiError && e.issues.length
        ? e.issues.map((i) => i.path.replace(/^(body\.)?entities\.(\d+)/, (_m, _b, n: string) => drafts[Number(n)]?.name || `#${Number(n) + 1}`) + ': ' + i.message).join('; ')
        : errorText(e);
      setSaveError(text);
    } finally {
      setSaving(false);
    }
  };

  if (loadError) return <Alert type="error" showIcon title={loadError} />;
  if (!drafts) return <Skeleton active />;

  return (
    <div data-testid="entities-editor">
      <Flex justify="space-between" align="center" wrap gap={8} style={{ marginBottom: 12 }}>
        <Space wrap size={[6, 6]}>
          <Typography.Text type="secondary">{t('bot.entities.builtIns')}</Typography.Text>
          {BUILT_INS.map((b) => (
            <Tag key={b}><Typography.Text code>{b}</Typography.Text> {t(`bot.entities.builtin.${b}`)}</Tag>
          ))}
        </Space>
        <Space>
          <Button icon={<PlusOutlined />} onClick={() => add('enum')} data-testid="entity-add-enum">{t('bot.entities.addEnum')}</Button>
          <Button icon={<PlusOutlined />} onClick={() => add('regex')} data-testid="entity-add-regex">{t('bot.entities.addRegex')}</Button>
          <Button type="primary" icon={<SaveOutlined />} loading={saving} disabled={!dirty || problems.some(Boolean)} onClick={() => void save()} data-testid="entities-save">
            {t('common.save')}
          </Button>
        </Space>
      </Flex>
      {saveError && <Alert type="error" showIcon closable title={saveError} style={{ marginBottom: 12 }} />}
      {dirty && <Alert type="info" showIcon title={t('admin.unsaved')} style={{ marginBottom: 12 }} />}
      {drafts.length === 0 && <Empty description={t('bot.entities.empty')} />}
      <Flex vertical gap={12}>
        {drafts.map((d, index) => {
          const err = problems[index];
          let match: string | null | undefined;
          const s = sample[d.key];
          if (d.kind === 'regex' && s && !err) {
            try {
              match = new RegExp(d.pattern, 'u').exec(s)?.[0] ?? null;
            } catch {
              match = null;
            }
          }
          return (
            <Card
              key={d.key}
              size="small"
              data-testid="entity-card"
              title={
                <Space>
                  <Input value={d.name} onChange={(e) => update(d.key, { name: e.target.value })} placeholder={t('bot.entities.namePlaceholder')} style={{ width: 220 }} status={d.name.trim() && !INTENT_NAME_RE.test(d.name.trim()) ? 'error' : undefined} data-testid="entity-name" />
                  <Radio.Group
                    size="small"
                    optionType="button"
                    value={d.kind}
                    onChange={(e) => update(d.key, { kind: e.target.value as Draft['kind'], values: d.values.length ? d.values : [{ value: '', synonyms: [] }] })}
                    options={[{ value: 'enum', label: t('bot.entities.kind.enum') }, { value: 'regex', label: t('bot.entities.kind.regex') }]}
                  />
                </Space>
              }
              extra={
                <Popconfirm title={t('bot.entities.deleteConfirm', { name: d.name || '—' })} onConfirm={() => remove(d.key)} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')}>
                  <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={t('common.delete')} />
                </Popconfirm>
              }
            >
              {err && <Alert type="warning" showIcon title={err} style={{ marginBottom: 8 }} />}
              {d.kind === 'enum' ? (
                <>
                  <Table<EnumValue & { i: number }>
                    size="small"
                    pagination={false}
                    rowKey="i"
                    dataSource={d.values.map((v, i) => ({ ...v, i }))}
                    columns={[
                      {
                        title: t('bot.entities.value'),
                        dataIndex: 'value',
                        width: 220,
                        render: (v: string, row) => (
                          <Input size="small" value={v} maxLength={100} onChange={(e) => update(d.key, { values: d.values.map((x, i) => (i === row.i ? { ...x, value: e.target.value } : x)) })} data-testid="entity-value" />
                        ),
                      },
                      {
                        title: t('bot.entities.synonyms'),
                        dataIndex: 'synonyms',
                        render: (syn: string[], row) => (
                          <Select
                            size="small"
                            mode="tags"
                            open={false}
                            suffixIcon={null}
                            style={{ width: '100%' }}
                            value={syn}
                            tokenSeparators={[',', '，', ';', '；']}
                            placeholder={t('bot.entities.synonymsHint')}
                            onChange={(next: string[]) => update(d.key, { values: d.values.map((x, i) => (i === row.i ? { ...x, synonyms: next } : x)) })}
                            data-testid="entity-synonyms"
                          />
                        ),
                      },
                      {
                        key: 'x',
                        width: 40,
                        render: (_: unknown, row) => (
                          <Button size="small" type="text" icon={<DeleteOutlined />} disabled={d.values.length <= 1} onClick={() => update(d.key, { values: d.values.filter((_x, i) => i !== row.i) })} aria-label={t('common.delete')} />
                        ),
                      },
                    ]}
                  />
                  <Button size="small" type="dashed" icon={<PlusOutlined />} style={{ marginTop: 8 }} onClick={() => update(d.key, { values: [...d.values, { value: '', synonyms: [] }] })}>
                    {t('bot.entities.addValue')}
                  </Button>
                </>
              ) : (
                <Flex vertical gap={8}>
                  <Space.Compact style={{ width: '100%' }}>
                  <Space.Addon>{t('bot.entities.pattern')}</Space.Addon>
                  <Input
                    value={d.pattern}
                    maxLength={300}
                    onChange={(e) => update(d.key, { pattern: e.target.value })}
                    placeholder="[A-Z]{2}\d{8}"
                    style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' }}
                    data-testid="entity-pattern"
                  />
                  </Space.Compact>
                  <Space.Compact style={{ width: '100%' }}>
                    <Space.Addon>{t('bot.entities.try')}</Space.Addon>
                    <Input value={s ?? ''} onChange={(e) => setSample((m) => ({ ...m, [d.key]: e.target.value }))} placeholder={t('bot.entities.tryPlaceholder')} />
                  </Space.Compact>
                  {s && !err && (match ? <Typography.Text type="success">{t('bot.entities.matched', { text: match })}</Typography.Text> : <Typography.Text type="warning">{t('bot.entities.noMatch')}</Typography.Text>)}
                </Flex>
              )}
            </Card>
          );
        })}
      </Flex>
    </div>
  );
}
