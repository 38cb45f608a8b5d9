import { useEffect, useRef, useState, type DragEvent } from 'react';
import { Alert, Button, Flex, Modal, Progress, Result, Statistic, Table, Typography } from 'antd';
import { InboxOutlined } from '@ant-design/icons';
import { api, upload } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { importFinished, KB_IMPORT_ACCEPT, kbImportable, type KbImport } from './types.ts';

const POLL_MS = 500;

type Phase =
  | { kind: 'pick'; error?: string }
  | { kind: 'uploading'; fileName: string; fraction: number }
  | { kind: 'importing'; job: KbImport; error?: string }
  | { kind: 'finished'; job: KbImport };

/**
 * Knowledge import: FAQ sheets (CSV / XLSX) and documents (Markdown, HTML, PDF, DOCX). Upload with XHR
 * progress, then poll the job (GET /kb/imports/:id) for its progress bar until it is done, then the counts
 * and the problems it reported. Same shape as the contact import (admin/contacts/ImportModal.tsx): the
 * dialog may be closed while the job runs; it stays mounted so polling goes on and the list refreshes.
 */
export function KbImportModal(props: { open: boolean; onClose: () => void; onImported: () => void }) {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>({ kind: 'pick' });
  const fileInput = useRef<HTMLInputElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const alive = useRef(true);
  const onImportedRef = useRef(props.onImported);
  useEffect(() => {
    onImportedRef.current = props.onImported;
  }, [props.onImported]);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
    };
  }, []);

  const busy = phase.kind === 'uploading' || phase.kind === 'importing';

  const settle = (job: KbImport) => {
    if (importFinished(job)) {
      setPhase({ kind: 'finished', job });
      onImportedRef.current();
    } else {
      setPhase({ kind: 'importing', job });
      poll(job.id);
    }
  };

  const poll = (id: string, failures = 0) => {
    timer.current = setTimeout(async () => {
      try {
        const job = await api<KbImport>('GET', `/kb/imports/${encodeURIComponent(id)}`);
        if (alive.current) settle(job);
      } catch (err) {
        if (!alive.current) return;
        // A blip (server restarting) should not abandon a running job: keep asking, more slowly.
        setPhase((p) => (p.kind === 'importing' ? { ...p, error: errorText(err) } : p));
        if (failures < 20) poll(id, failures + 1);
      }
    }, failures ? POLL_MS * Math.min(2 ** failures, 10) : POLL_MS);
  };

  const start = async (file: File) => {
    if (!kbImportable(file.name)) {
      setPhase({ kind: 'pick', error: t('bot.kb.import.badType', { name: file.name }) });
      return;
    }
    setPhase({ kind: 'uploading', fileName: file.name, fraction: 0 });
    try {
      const job = await upload<KbImport>('/kb/imports', file, (fraction) => {
        if (alive.current) setPhase({ kind: 'uploading', fileName: file.name, fraction });
      });
      if (alive.current) settle(job);
    } catch (err) {
      if (alive.current) setPhase({ kind: 'pick', error: errorText(err) });
    }
  };

  const reset = () => {
    clearTimeout(timer.current);
    setPhase({ kind: 'pick' });
    if (fileInput.current) fileInput.current.value = '';
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (file) void start(file);
  };

  return (
    <Modal
      open={props.open}
      width={680}
      title={t('bot.kb.import.title')}
      onCancel={props.onClose}
      footer={
        phase.kind === 'finished'
          ? [
              <Button key="again" onClick={reset}>{t('admin.import.again')}</Button>,
              <Button key="close" type="primary" onClick={props.onClose} data-testid="kb-import-close">{t('admin.done')}</Button>,
            ]
          : [<Button key="close" onClick={props.onClose}>{t(busy ? 'admin.import.background' : 'common.cancel')}</Button>]
      }
    >
      {phase.kind === 'pick' && (
        <>
          <Help />
          {phase.error && <Alert type="error" showIcon title={phase.error} style={{ marginBottom: 12 }} data-testid="kb-import-error" />}
          <div
            role="button"
            tabIndex={0}
            onClick={() => fileInput.current?.click()}
            onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && fileInput.current?.click()}
            onDragOver={(e) => e.preventDefault()}
            onDrop={onDrop}
            style={{ border: '1px dashed #d9d9d9', borderRadius: 8, background: '#fafafa', padding: '24px 16px', textAlign: 'center', cursor: 'pointer' }}
          >
            <InboxOutlined style={{ fontSize: 40, color: '#1677ff' }} />
            <div style={{ marginTop: 8 }}>{t('bot.kb.import.drop')}</div>
            <Typography.Text type="secondary">{t('bot.kb.import.dropHint')}</Typography.Text>
          </div>
          <input
            ref={fileInput}
            type="file"
            accept={KB_IMPORT_ACCEPT}
            style={{ display: 'none' }}
            data-testid="kb-import-file"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void start(file);
            }}
          />
        </>
      )}
      {phase.kind === 'uploading' && (
        <div data-testid="kb-import-progress" data-phase="uploading">
          <Typography.Paragraph>{t('admin.import.uploading', { name: phase.fileName })}</Typography.Paragraph>
          <Progress percent={Math.round(phase.fraction * 100)} status="active" />
        </div>
      )}
      {phase.kind === 'importing' && <ImportProgress job={phase.job} error={phase.error} />}
      {phase.kind === 'finished' && <ImportResult job={phase.job} />}
    </Modal>
  );
}

/** What the files should look like: the sheet columns (either language's header works) and the documents. */
function Help() {
  const { t } = useI18n();
  const cols: [string, string][] = [
    ['问题 / question', 'bot.kb.import.col.question'],
    ['相似问题 / similar', 'bot.kb.import.col.similar'],
    ['答案 / answer', 'bot.kb.import.col.answer'],
    ['分类 / category', 'bot.kb.import.col.category'],
    ['标签 / tags', 'bot.kb.import.col.tags'],
  ];
  return (
    <div style={{ marginBottom: 16 }} data-testid="kb-import-help">
      <Typography.Paragraph style={{ marginBottom: 6 }}>{t('bot.kb.import.sheets')}</Typography.Paragraph>
      <ul style={{ paddingInlineStart: 20, margin: '0 0 8px' }}>
        {cols.map(([col, key]) => (
          <li key={col}>
            <Typography.Text code>{col}</Typography.Text> — {t(key)}
          </li>
        ))}
      </ul>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 0 }}>{t('bot.kb.import.documents')}</Typography.Paragraph>
    </div>
  );
}

function ImportProgress({ job, error }: { job: KbImport; error?: string | undefined }) {
  const { t } = useI18n();
  const percent = job.total > 0 ? Math.floor((job.processed / job.total) * 100) : 0;
  return (
    <div data-testid="kb-import-progress" data-phase="importing" data-status={job.status}>
      <Typography.Paragraph>
        {job.status === 'queued' ? t('admin.import.queued', { name: job.fileName }) : t('admin.import.running', { name: job.fileName })}
      </Typography.Paragraph>
      <Progress percent={percent} status="active" format={() => (job.total > 0 ? `${job.processed} / ${job.total}` : '…')} />
      <Typography.Text type="secondary">{t('bot.kb.import.soFar', { created: job.created, updated: job.updated, errors: job.errors.length })}</Typography.Text>
      {error && <Alert type="warning" showIcon style={{ marginTop: 12 }} title={t('admin.import.pollTrouble', { error })} />}
    </div>
  );
}

function ImportResult({ job }: { job: KbImport }) {
  const { t } = useI18n();
  const ok = job.status === 'done';
  return (
    <div data-testid="kb-import-result" data-status={job.status}>
      <Result
        style={{ padding: '8px 0 16px' }}
        status={!ok ? 'error' : job.errors.length > 0 ? 'warning' : 'success'}
        title={t(ok ? 'admin.import.done' : 'admin.import.failed', { name: job.fileName })}
        subTitle={t('bot.kb.import.units', { n: job.total })}
      />
      <Progress percent={job.total > 0 ? Math.floor((job.processed / job.total) * 100) : 100} status={ok ? 'success' : 'exception'} style={{ marginBottom: 16 }} />
      <Flex justify="space-around" style={{ marginBottom: 16 }}>
        <Statistic title={t('admin.import.created')} value={job.created} styles={{ content: { color: '#389e0d' } }} />
        <Statistic title={t('admin.import.updated')} value={job.updated} styles={{ content: { color: '#0958d9' } }} />
        <Statistic title={t('bot.kb.import.problems')} value={job.errors.length} styles={{ content: { color: job.errors.length ? '#cf1322' : undefined } }} />
      </Flex>
      {job.errors.length > 0 && (
        <Table
          size="small"
          rowKey={(e) => `${e.where}:${e.message}`}
          dataSource={job.errors}
          pagination={job.errors.length > 8 ? { pageSize: 8, size: 'small' } : false}
          columns={[
            { title: t('bot.kb.import.where'), dataIndex: 'where', width: 160 },
            { title: t('admin.import.problem'), dataIndex: 'message' },
          ]}
          data-testid="kb-import-errors"
        />
      )}
    </div>
  );
}
