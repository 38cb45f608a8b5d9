import { useEffect, useRef, useState } from 'react';
import { AutoComplete, Button, Flex, Input, Select, Tag, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useI18n } from '../../lib/i18n.tsx';

/**
 * Small inputs the step form is built from: a template with clickable {{variable}} hints, a select of the
 * flow's step ids, key/value rows (headers, response mapping, assignments) and a tag list.
 */

/** A template text box; the chips under it insert `{{name}}` at the cursor (or at the end). */
export function TemplateInput(props: { value: string; onChange: (v: string) => void; variables: string[]; rows?: number; placeholder?: string; testId?: string; extraHints?: string[]; singleLine?: boolean }) {
  const { t } = useI18n();
  const ref = useRef<HTMLTextAreaElement | HTMLInputElement | null>(null);
  const insert = (name: string) => {
    const el = ref.current;
    const token = `{{${name}}}`;
    const at = el && typeof el.selectionStart === 'number' ? el.selectionStart : props.value.length;
    const end = el && typeof el.selectionEnd === 'number' ? el.selectionEnd : at;
    props.onChange(props.value.slice(0, at) + token + props.value.slice(end));
  };
  const hints = [...props.variables, ...(props.extraHints ?? [])];
  return (
    <div>
      {props.singleLine ? (
        <Input
          ref={(r) => void (ref.current = r?.input ?? null)}
          value={props.value}
          placeholder={props.placeholder}
          onChange={(e) => props.onChange(e.target.value)}
          data-testid={props.testId}
        />
      ) : (
        <Input.TextArea
          ref={(r) => void (ref.current = r?.resizableTextArea?.textArea ?? null)}
          value={props.value}
          placeholder={props.placeholder}
          autoSize={{ minRows: props.rows ?? 2, maxRows: 8 }}
          onChange={(e) => props.onChange(e.target.value)}
          data-testid={props.testId}
        />
      )}
      {hints.length > 0 && (
        <Flex gap={4} wrap align="center" style={{ marginTop: 4 }}>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('flows.form.insertVariable')}</Typography.Text>
          {hints.map((v) => (
            <Tag key={v} style={{ cursor: 'pointer', fontSize: 11, marginInlineEnd: 0 }} onMouseDown={(e) => e.preventDefault()} onClick={() => insert(v)}>
              {`{{${v}}}`}
            </Tag>
          ))}
        </Flex>
      )}
    </div>
  );
}

export const END = '__end__';
export const DEFAULT = '__default__';

/**
 * The target of a transition: one of the flow's steps. `special` adds the meaning of "no step" for this
 * field — the flow ends (message.next = null) or the default behaviour (onFail / onError left out).
 */
export function StepSelect(props: { value: string | null | undefined; onChange: (v: string | null | undefined) => void; stepIds: string[]; self: string; special?: 'end' | 'default'; testId?: string }) {
  const { t } = useI18n();
  const value = props.value === null ? END : props.value === undefined ? DEFAULT : props.value || undefined;
  const options = [
    ...(props.special === 'end' ? [{ value: END, label: t('flows.form.endsHere') }] : []),
    ...(props.special === 'default' ? [{ value: DEFAULT, label: t('flows.form.defaultHandoff') }] : []),
    ...props.stepIds.map((id) => ({ value: id, label: id === props.self ? `${id} ${t('flows.form.thisStep')}` : id })),
  ];
  return (
    <Select
      value={value}
      placeholder={t('flows.form.chooseStep')}
      status={value === undefined ? 'warning' : undefined}
      options={options}
      showSearch
      onChange={(v: string) => props.onChange(v === END ? null : v === DEFAULT ? undefined : v)}
      style={{ width: '100%' }}
      data-testid={props.testId}
    />
  );
}

interface Row {
  key: string;
  value: string;
}

/**
 * Rows of name → value. The rows are kept locally so a half-typed row (empty name, duplicate name) does not
 * vanish; the record handed up holds the rows with a name (the last one wins on duplicates).
 */
export function KeyValueRows(props: {
  value: Record<string, string>;
  onChange: (v: Record<string, string>) => void;
  keyPlaceholder: string;
  valuePlaceholder: string;
  keyOptions?: string[];
  arrow?: string;
  addLabel: string;
  testId: string;
  renderValue?: (value: string, onChange: (v: string) => void, index: number) => React.ReactNode;
}) {
  const [rows, setRows] = useState<Row[]>(() => Object.entries(props.value).map(([key, value]) => ({ key, value })));
  // Replaced from outside (JSON tab, version restore): take the new rows unless they are what we sent up.
  const sent = useRef(JSON.stringify(props.value));
  useEffect(() => {
    const incoming = JSON.stringify(props.value);
    if (incoming !== sent.current) {
      sent.current = incoming;
      setRows(Object.entries(props.value).map(([key, value]) => ({ key, value })));
    }
  }, [props.value]);
  const update = (next: Row[]) => {
    setRows(next);
    const record: Record<string, string> = {};
    for (const r of next) if (r.key.trim()) record[r.key.trim()] = r.value;
    sent.current = JSON.stringify(record);
    props.onChange(record);
  };
  return (
    <Flex vertical gap={6} data-testid={props.testId}>
      {rows.map((row, i) => (
        <Flex key={i} gap={6} align="center" data-testid={`${props.testId}-row`}>
          {props.keyOptions ? (
            <AutoComplete
              value={row.key}
              options={props.keyOptions.map((o) => ({ value: o }))}
              onChange={(v: string) => update(rows.map((r, j) => (j === i ? { ...r, key: v } : r)))}
              placeholder={props.keyPlaceholder}
              style={{ flex: '0 0 38%' }}
              data-testid={`${props.testId}-key`}
            />
          ) : (
            <Input value={row.key} onChange={(e) => update(rows.map((r, j) => (j === i ? { ...r, key: e.target.value } : r)))} placeholder={props.keyPlaceholder} style={{ flex: '0 0 38%' }} data-testid={`${props.testId}-key`} />
          )}
          {props.arrow && <Typography.Text type="secondary">{props.arrow}</Typography.Text>}
          <div style={{ flex: 1, minWidth: 0 }}>
            {props.renderValue ? (
              props.renderValue(row.value, (v) => update(rows.map((r, j) => (j === i ? { ...r, value: v } : r))), i)
            ) : (
              <Input value={row.value} onChange={(e) => update(rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))} placeholder={props.valuePlaceholder} data-testid={`${props.testId}-value`} />
            )}
          </div>
          <Button type="text" size="small" icon={<DeleteOutlined />} onClick={() => update(rows.filter((_, j) => j !== i))} />
        </Flex>
      ))}
      <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={() => setRows([...rows, { key: '', value: '' }])} data-testid={`${props.testId}-add`} style={{ alignSelf: 'flex-start' }}>
        {props.addLabel}
      </Button>
    </Flex>
  );
}

/** A list of short texts typed and confirmed with Enter (quick replies, trigger phrases). */
export function TagsInput(props: { value: string[]; onChange: (v: string[]) => void; placeholder?: string; max?: number; maxLength?: number; options?: string[]; testId?: string }) {
  return (
    <Select
      mode="tags"
      value={props.value}
      onChange={(v: string[]) => props.onChange(v.map((s) => s.trim()).filter(Boolean).map((s) => (props.maxLength ? s.slice(0, props.maxLength) : s)).slice(0, props.max ?? 50))}
      placeholder={props.placeholder}
      tokenSeparators={['\n']}
      options={(props.options ?? []).map((o) => ({ value: o, label: o }))}
      style={{ width: '100%' }}
      data-testid={props.testId}
    />
  );
}
