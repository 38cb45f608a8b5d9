import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Card, Col, Empty, Flex, Form, Input, Result, Row, Select, Space, Spin, Tabs, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, CheckCircleOutlined, CloudUploadOutlined, HistoryOutlined, SaveOutlined, UndoOutlined } from '@ant-design/icons';
import { useNavigate, useParams } from 'react-router';
import { FlowDocument as FlowDocumentSchema, type BotFlow, type FlowDocument } from '@huiliu/contracts/bot';
import { api, ApiError } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { useLoad } from '../../admin/shared/useLoad.ts';
import { FlowCanvas, TRIGGERS } from './FlowCanvas.tsx';
import { FlowSimulator } from './FlowSimulator.tsx';
import { StepForm } from './StepForm.tsx';
import { TagsInput } from './fields.tsx';
import { insertStep, removeStep, renameStep, replaceStep, sameDocument, stepOfIssue, type StepType } from './flowModel.ts';
import { VersionsDrawer } from './VersionsDrawer.tsx';

interface FlowIssue {
  path: string;
  message: string;
  /** The step it is about, when it names one (the canvas highlights it). */
  step: string | null;
  /** Warnings (e.g. a variable no step sets) do not block publishing. */
  severity: 'error' | 'warning';
}

/** Issue paths relative to the document: `body.draft.steps.2.next` → `steps.2.next`. */
const relPath = (path: string) => path.replace(/^(?:body\.)?(?:draft|document)\.?/, '').replace(/^body\.?/, '');

function toIssues(doc: FlowDocument, raw: readonly { path: string; message: string; severity?: 'error' | 'warning' }[]): FlowIssue[] {
  return raw.map((i) => ({
    path: relPath(i.path),
    message: i.message.replace(/^warning: /, ''),
    step: stepOfIssue(doc, { path: relPath(i.path), message: i.message }),
    severity: i.severity ?? 'error',
  }));
}

/**
 * One flow: the visual editor (canvas + side form), the raw JSON as an advanced view, and the simulator.
 * Edits stay local until "Save draft"; "Publish" saves and publishes, and a refused publish lists its issues
 * on the steps they name. Customers only ever meet the published version.
 */
export function FlowEditor() {
  const { id = '' } = useParams();
  const { t } = useI18n();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();

  const [flow, setFlow] = useState<BotFlow | null>(null);
  const [loadError, setLoadError] = useState<ApiError | Error | null>(null);
  const [doc, setDoc] = useState<FlowDocument | null>(null);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [issues, setIssues] = useState<FlowIssue[]>([]);
  const [checked, setChecked] = useState(false);
  const [busy, setBusy] = useState<'save' | 'validate' | 'publish' | null>(null);
  const [tab, setTab] = useState<'visual' | 'json'>('visual');
  const [jsonText, setJsonText] = useState('');
  const [jsonIssues, setJsonIssues] = useState<string[]>([]);
  const [versionsOpen, setVersionsOpen] = useState(false);

  const adopt = useCallback((f: BotFlow) => {
    setFlow(f);
    setDoc(f.draft);
    setName(f.name);
    setDescription(f.description);
  }, []);

  useEffect(() => {
    api<BotFlow>('GET', `/bot/flows/${id}`)
      .then((f) => {
        adopt(f);
        setSelected(f.draft.start);
      })
      .catch((err: Error) => setLoadError(err));
  }, [id, adopt]);

  // Choices for the form: intents for the triggers, workspace entities for ask steps, teams for handoffs.
  // Any of them missing (older server, no permission) only leaves the free-text input.
  const intents = useLoad(() => api<{ name: string }[]>('GET', '/bot/intents').catch(() => []), []);
  const entities = useLoad(() => api<{ entities: { name: string }[] }>('GET', '/bot/entities').catch(() => ({ entities: [] })), []);
  const teams = useLoad(() => api<{ id: string; name: string }[]>('GET', '/teams').catch(() => []), []);

  const dirty = !!flow && !!doc && (!sameDocument(doc, flow.draft) || name !== flow.name || description !== flow.description);
  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [dirty]);

  const change = (next: FlowDocument) => {
    setDoc(next);
    setChecked(false);
  };
  const issueSteps = useMemo(() => new Set(issues.filter((i) => i.severity === 'error').map((i) => i.step).filter((s): s is string => !!s)), [issues]);
  const errorCount = issues.filter((i) => i.severity === 'error').length;

  const showError = (err: unknown, current: FlowDocument) => {
    if (err instanceof ApiError && err.issues.length) {
      setIssues(toIssues(current, err.issues));
      const first = toIssues(current, err.issues).find((i) => i.step);
      if (first?.step) setSelected(first.step);
      message.error(err.message);
    } else message.error(errorText(err));
  };

  /** Saves the working draft; false when the server refused it (its issues are then shown). */
  const save = async (): Promise<boolean> => {
    if (!flow || !doc) return false;
    if (!dirty) return true;
    setBusy('save');
    try {
      const updated = await api<BotFlow>('PATCH', `/bot/flows/${flow.id}`, { name: name.trim() || flow.name, description, draft: doc });
      adopt(updated);
      setIssues([]);
      return true;
    } catch (err) {
      showError(err, doc);
      return false;
    } finally {
      setBusy(null);
    }
  };

  const validate = async () => {
    if (!doc) return;
    setBusy('validate');
    try {
      const r = await api<{ issues: { path: string; message: string; severity?: 'error' | 'warning' }[] }>('POST', '/bot/flows/validate', { document: doc });
      const found = toIssues(doc, r.issues);
      setIssues(found);
      setChecked(true);
      // No errors: the success banner says so (a toast as well would say it twice).
      if (found.some((i) => i.severity === 'error')) {
        const first = found.find((i) => i.step && i.severity === 'error');
        if (first?.step) setSelected(first.step);
      }
    } catch (err) {
      showError(err, doc);
    } finally {
      setBusy(null);
    }
  };

  const publish = async () => {
    if (!flow || !doc) return;
    if (!(await save())) return;
    setBusy('publish');
    try {
      const published = await api<BotFlow>('POST', `/bot/flows/${flow.id}/publish`);
      adopt(published);
      setIssues([]);
      message.success(t('flows.publish.ok', { version: published.version }));
    } catch (err) {
      showError(err, doc);
    } finally {
      setBusy(null);
    }
  };

  const openJson = () => {
    if (doc) setJsonText(JSON.stringify(doc, null, 2));
    setJsonIssues([]);
  };
  /** Parses and checks the JSON against the contract; applies it to the working draft when it holds. */
  const applyJson = (): boolean => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(jsonText);
    } catch (err) {
      setJsonIssues([t('flows.json.syntax', { error: errorText(err) })]);
      return false;
    }
    const r = FlowDocumentSchema.safeParse(parsed);
    if (!r.success) {
      setJsonIssues(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
      return false;
    }
    change(r.data);
    setJsonIssues([]);
    if (selected && selected !== TRIGGERS && !r.data.steps.some((s) => s.id === selected)) setSelected(r.data.start);
    return true;
  };
  const jsonChanged = !!doc && tab === 'json' && jsonText !== JSON.stringify(doc, null, 2);

  if (loadError) {
    return <Result status={loadError instanceof ApiError && loadError.status === 404 ? '404' : 'error'} title={errorText(loadError)} extra={<Button onClick={() => navigate('/admin/bot/flows')}>{t('flows.back')}</Button>} />;
  }
  if (!flow || !doc) return <Flex justify="center" style={{ padding: 64 }}><Spin /></Flex>;

  const step = selected && selected !== TRIGGERS ? doc.steps.find((s) => s.id === selected) : undefined;
  const add = (type: StepType) => {
    const after = step?.id ?? doc.steps[doc.steps.length - 1]?.id ?? null;
    const r = insertStep(doc, type, after);
    change(r.doc);
    setSelected(r.id);
  };

  const state = dirty ? (
    <Tag color="orange" data-testid="flow-editor-state" data-state="unsaved">{t('flows.state.unsaved')}</Tag>
  ) : !flow.published ? (
    <Tag data-testid="flow-editor-state" data-state="draft">{t('flows.state.draft')}</Tag>
  ) : sameDocument(flow.draft, flow.published) ? (
    <Tag color="green" data-testid="flow-editor-state" data-state="published">{t('flows.state.publishedVersion', { version: flow.version })}</Tag>
  ) : (
    <Tag color="gold" data-testid="flow-editor-state" data-state="changed">{t('flows.state.changedSince', { version: flow.version })}</Tag>
  );

  return (
    <div style={{ padding: '16px 24px 24px', maxWidth: 1760, margin: '0 auto' }} data-testid="flow-editor" data-flow-id={flow.id}>
      <Flex justify="space-between" align="center" gap={12} wrap style={{ marginBottom: 12 }}>
        <Flex align="center" gap={8} style={{ minWidth: 0 }}>
          <Button
            type="text"
            icon={<ArrowLeftOutlined />}
            aria-label={t('flows.back')}
            onClick={() => {
              if (!dirty) return navigate('/admin/bot/flows');
              modal.confirm({ title: t('flows.leave.title'), content: t('flows.leave.text'), okText: t('flows.leave.ok'), okButtonProps: { danger: true }, onOk: () => navigate('/admin/bot/flows') });
            }}
          />
          <Typography.Title
            level={4}
            style={{ margin: 0 }}
            editable={{ onChange: (v) => setName(v.slice(0, 100)), tooltip: t('flows.rename'), triggerType: ['icon', 'text'] }}
            data-testid="flow-name"
          >
            {name}
          </Typography.Title>
          {state}
        </Flex>
        <Space wrap>
          {dirty && <Button icon={<UndoOutlined />} onClick={() => adopt(flow)} data-testid="flow-discard">{t('flows.discard')}</Button>}
          <Button icon={<HistoryOutlined />} onClick={() => setVersionsOpen(true)} data-testid="flow-versions-open">{t('flows.versions')}</Button>
          <Button icon={<CheckCircleOutlined />} loading={busy === 'validate'} onClick={() => void validate()} data-testid="flow-validate">{t('flows.validate')}</Button>
          <Button icon={<SaveOutlined />} loading={busy === 'save'} disabled={!dirty} onClick={() => void save().then((ok) => ok && message.success(t('flows.saved')))} data-testid="flow-save">{t('flows.save')}</Button>
          <Button type="primary" icon={<CloudUploadOutlined />} loading={busy === 'publish'} disabled={!dirty && !!flow.published && sameDocument(flow.draft, flow.published)} onClick={() => void publish()} data-testid="flow-publish">{t('flows.publish')}</Button>
        </Space>
      </Flex>
      {issues.length > 0 && (
        <Alert
          type={errorCount ? 'error' : 'warning'}
          showIcon
          closable={{ onClose: () => setIssues([]) }}
          style={{ marginBottom: 12 }}
          data-testid="flow-issues"
          title={errorCount ? t('flows.issues', { n: errorCount }) : t('flows.issues.warnings', { n: issues.length })}
          description={
            <ul style={{ margin: 0, paddingInlineStart: 18 }}>
              {issues.map((i, n) => (
                <li key={n} data-testid="flow-issue" data-step-id={i.step ?? ''} data-severity={i.severity}>
                  {i.severity === 'warning' && <Tag color="warning" style={{ fontSize: 11 }}>{t('flows.issue.warning')}</Tag>}
                  {i.step ? (
                    <a onClick={() => { setSelected(i.step); setTab('visual'); }}><Typography.Text code>{i.step}</Typography.Text></a>
                  ) : i.path ? <Typography.Text code>{i.path}</Typography.Text> : null}{' '}
                  {i.message}
                </li>
              ))}
            </ul>
          }
        />
      )}
      {checked && errorCount === 0 && <Alert type="success" showIcon style={{ marginBottom: 12 }} title={t('flows.validate.ok')} closable={{ onClose: () => setChecked(false) }} data-testid="flow-valid" />}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={17}>
          <Tabs
            activeKey={tab}
            onChange={(k) => {
              if (k === 'json') openJson();
              else if (jsonChanged && !applyJson()) {
                message.error(t('flows.json.fixFirst'));
                return;
              }
              setTab(k as 'visual' | 'json');
            }}
            items={[
              {
                key: 'visual',
                label: <span data-testid="flow-tab-visual">{t('flows.tab.visual')}</span>,
                children: (
                  <Row gutter={16}>
                    <Col xs={24} lg={12}>
                      <FlowCanvas doc={doc} selected={selected} issueSteps={issueSteps} onSelect={setSelected} onAdd={add} />
                    </Col>
                    <Col xs={24} lg={12}>
                      {/* The form stays in view beside a long canvas and scrolls on its own when it is the taller one. */}
                      <div style={{ position: 'sticky', top: 8, maxHeight: 'calc(100vh - 84px)', overflowY: 'auto' }}>
                        {selected === TRIGGERS ? (
                          <TriggersForm doc={doc} intents={(intents.data ?? []).map((i) => i.name)} description={description} onDescription={setDescription} onChange={change} />
                        ) : step ? (
                          <StepForm
                            key={step.id}
                            step={step}
                            doc={doc}
                            issues={issues.filter((i) => i.step === step.id).map((i) => ({ path: i.path.replace(/^steps\.\d+\.?/, ''), message: i.message, severity: i.severity }))}
                            entities={(entities.data?.entities ?? []).map((e) => e.name)}
                            teams={teams.data ?? []}
                            onChange={(s) => change(replaceStep(doc, s))}
                            onRename={(to) => {
                              const renamed = renameStep(doc, step.id, to);
                              if (!renamed) return t('flows.form.idTaken');
                              change(renamed);
                              setSelected(to);
                              setIssues((list) => list.map((i) => (i.step === step.id ? { ...i, step: to } : i)));
                              return null;
                            }}
                            onDelete={() => {
                              const next = removeStep(doc, step.id);
                              if (next.steps.length === 0) {
                                message.error(t('flows.form.lastStep'));
                                return;
                              }
                              change(next);
                              setSelected(next.start);
                            }}
                            onSetStart={() => change({ ...doc, start: step.id })}
                          />
                        ) : (
                          <Card size="small"><Empty description={t('flows.form.selectHint')} /></Card>
                        )}
                      </div>
                    </Col>
                  </Row>
                ),
              },
              {
                key: 'json',
                label: <span data-testid="flow-tab-json">{t('flows.tab.json')}</span>,
                children: (
                  <div>
                    <Typography.Paragraph type="secondary">{t('flows.json.hint')}</Typography.Paragraph>
                    <Input.TextArea
                      value={jsonText}
                      onChange={(e) => setJsonText(e.target.value)}
                      autoSize={{ minRows: 20, maxRows: 40 }}
                      spellCheck={false}
                      style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', fontSize: 12 }}
                      data-testid="flow-json"
                    />
                    {jsonIssues.length > 0 && (
                      <Alert type="error" showIcon style={{ marginTop: 8 }} data-testid="flow-json-issues" title={t('flows.json.invalid')} description={<ul style={{ margin: 0, paddingInlineStart: 18 }}>{jsonIssues.map((m, i) => <li key={i}>{m}</li>)}</ul>} />
                    )}
                    <Space style={{ marginTop: 8 }}>
                      <Button type="primary" disabled={!jsonChanged} onClick={() => applyJson() && message.success(t('flows.json.applied'))} data-testid="flow-json-apply">{t('flows.json.apply')}</Button>
                      <Button disabled={!jsonChanged} onClick={openJson}>{t('flows.json.revert')}</Button>
                    </Space>
                  </div>
                ),
              },
            ]}
          />
        </Col>
        <Col xs={24} xl={7}>
          <div style={{ position: 'sticky', top: 0 }}>
            <FlowSimulator flowId={flow.id} beforeSend={save} />
          </div>
        </Col>
      </Row>
      <VersionsDrawer
        flowId={flow.id}
        open={versionsOpen}
        current={flow.version}
        onClose={() => setVersionsOpen(false)}
        onRestore={(restored, version) => {
          change(restored);
          setSelected(restored.start);
          setVersionsOpen(false);
          message.info(t('flows.versions.restored', { version }));
        }}
      />
    </div>
  );
}

function TriggersForm(props: { doc: FlowDocument; intents: string[]; description: string; onDescription: (v: string) => void; onChange: (doc: FlowDocument) => void }) {
  const { t } = useI18n();
  const { triggers } = props.doc;
  return (
    <Card size="small" title={t('flows.triggers')} data-testid="flow-triggers-form">
      <Form layout="vertical" component="div">
        <Form.Item label={t('flows.triggers.intents')} extra={t('flows.triggers.intentsHelp')}>
          <Select
            mode="tags"
            value={triggers.intents}
            options={props.intents.map((i) => ({ value: i, label: i }))}
            onChange={(v: string[]) => props.onChange({ ...props.doc, triggers: { ...triggers, intents: v.slice(0, 20) } })}
            placeholder={t('flows.triggers.intentsPlaceholder')}
            data-testid="flow-trigger-intents"
          />
        </Form.Item>
        <Form.Item label={t('flows.triggers.phrases')} extra={t('flows.triggers.phrasesHelp')}>
          <TagsInput value={triggers.phrases} onChange={(v) => props.onChange({ ...props.doc, triggers: { ...triggers, phrases: v } })} max={50} maxLength={100} placeholder={t('flows.triggers.phrasesPlaceholder')} testId="flow-trigger-phrases" />
        </Form.Item>
        <Form.Item label={t('flows.descriptionField')}>
          <Input.TextArea value={props.description} onChange={(e) => props.onDescription(e.target.value.slice(0, 500))} autoSize={{ minRows: 2, maxRows: 5 }} />
        </Form.Item>
      </Form>
    </Card>
  );
}
