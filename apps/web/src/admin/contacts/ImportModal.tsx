import { useEffect, useRef, useState, type DragEvent } from 'react';
import { Alert, Button, Flex, Modal, Progress, Result, Statistic, Table, Typography } from 'antd';
import { DownloadOutlined, InboxOutlined } from '@ant-design/icons';
import { api, upload } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../shared/errors.ts';
import { downloadSample, finished, IMPORT_MAX_MB, type ContactImport } from './imports.ts';

const POLL_MS = 500;

type Phase =
  | { kind: 'pick'; error?: string }
  | { kind: 'uploading'; fileName: string; fraction: number }
  | { kind: 'importing'; job: ContactImport; error?: string }
  | { kind: 'finished'; job: ContactImport };

/**
 * CSV import: pick or drop a file, watch it upload (XHR progress), then watch the server work through it
 * (polled every 500 ms), then the counts and the rows it refused. The dialog may be closed at any time:
 * it stays mounted, so polling goes on and the list refreshes when the job ends.
 */
export function ImportModal(props: { open: boolean; onClose: () => void; onImported: () => void; onBusyChange?: (busy: boolean) => void }) {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>({ kind: 'pick' });
  const fileInput = useRef<HTMLInputElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const alive = useRef(true);
  const { onBusyChange } = props;
  // Polling outlives the render that started it; always tell the page through its latest callback.
  const onImportedRef = useRef(props.onImported);
  useEffect(() => {
    onImportedRef.current = props.onImported;
  }, [props.onImported]);
  const onImported = () => onImportedRef.current();

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
    };
  }, []);

  const busy = phase.kind === 'uploading' || phase.kind === 'importing';
  useEffect(() => onBusyChange?.(busy), [busy, onBusyChange]);

  const poll = (id: string, failures = 0) => {
    timer.current = setTimeout(async () => {
      try {
        const job = await api<ContactImport>('GET', `/contacts/imports/${encodeURIComponent(id)}`);
        if (!alive.current) return;
        if (finished(job)) {
          setPhase({ kind: 'finished', job });
          onImported();
        } else {
          setPhase({ kind: 'importing', job });
          poll(id);
        }
      } catch (err) {
        if (!alive.current) return;
        // A blip (server restarting, network) should not abandon a job that is still running: keep
        // asking, more slowly, and say so.
        setPhase((p) => (p.kind === 'importing' ? { ...p, error: errorText(err) } : p));
        if (failures < 20) poll(id, failures + 1);
      }
    }, failures ? POLL_MS * Math.min(2 ** failures, 10) : POLL_MS);
  };

  const start = async (file: File) => {
    if (!/\.csv$/i.test(file.name) && file.type !== 'text/csv') {
      setPhase({ kind: 'pick', error: t('admin.import.notCsv', { name: file.name }) });
      return;
    }
    if (file.size > IMPORT_MAX_MB * 1024 * 1024) {
      setPhase({ kind: 'pick', error: t('admin.import.tooLarge', { name: file.name, mb: IMPORT_MAX_MB }) });
      return;
    }
    setPhase({ kind: 'uploading', fileName: file.name, fraction: 0 });
    try {
      const job = await upload<ContactImport>('/contacts/imports', file, (fraction) => {
        if (alive.current) setPhase({ kind: 'uploading', fileName: file.name, fraction });
      });
      if (!alive.current) return;
      if (finished(job)) {
        setPhase({ kind: 'finished', job });
        onImported();
      } else {
        setPhase({ kind: 'importing', job });
        poll(job.id);
      }
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
      title={t('admin.import.title')}
      onCancel={props.onClose}
      footer={
        phase.kind === 'finished'
          ? [
              <Button key="again" onClick={reset}>{t('admin.import.again')}</Button>,
              <Button key="close" type="primary" onClick={props.onClose}>{t('admin.done')}</Button>,
            ]
          : [<Button key="close" onClick={props.onClose}>{t(busy ? 'admin.import.background' : 'common.cancel')}</Button>]
      }
    >
      {phase.kind === 'pick' && (
        <>
          <Columns />
          {phase.error && <Alert type="error" showIcon title={phase.error} style={{ marginBottom: 12 }} data-testid="contact-import-error" />}
          <div
            role="button"
            tabIndex={0}
            onClick={() => fileInput.current?.click()}
            onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && fileInput.current?.click()}
            onDragOver={(e) => e.preventDefault()}
            onDrop={onDrop}
            style={{ border: '1px dashed #d9d9d9', borderRadius: 8, background: '#fafafa', padding: '28px 16px', textAlign: 'center', cursor: 'pointer' }}
          >
            <InboxOutlined style={{ fontSize: 40, color: '#1677ff' }} />
            <div style={{ marginTop: 8 }}>{t('admin.import.drop')}</div>
            <Typography.Text type="secondary">{t('admin.import.dropHint', { mb: IMPORT_MAX_MB })}</Typography.Text>
          </div>
          <input
            ref={fileInput}
            type="file"
            accept=".csv,text/csv"
            style={{ display: 'none' }}
            data-testid="contact-import-file"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void start(file);
            }}
          />
        </>
      )}
      {phase.kind === 'uploading' && (
        <div data-testid="contact-import-progress" data-phase="uploading">
          <Typography.Paragraph>{t('admin.import.uploading', { name: phase.fileName })}</Typography.Paragraph>
          <Progress percent={Math.round(phase.fraction * 100)} status="active" />
        </div>
      )}
      {phase.kind === 'importing' && <ImportProgress job={phase.job} error={phase.error} />}
      {phase.kind === 'finished' && <ImportResult job={phase.job} />}
    </Modal>
  );
}

/** What the file should look like, with a sample to start from. */
function Columns() {
  const { t } = useI18n();
  return (
    <div style={{ marginBottom: 16 }}>
      <Typography.Paragraph style={{ marginBottom: 8 }}>{t('admin.import.intro')}</Typography.Paragraph>
      <ul style={{ paddingInlineStart: 20, margin: '0 0 8px' }}>
        <li><Typography.Text code>name</Typography.Text> — {t('admin.import.col.name')}</li>
        <li><Typography.Text code>email</Typography.Text> — {t('admin.import.col.email')}</li>
        <li><Typography.Text code>phone</Typography.Text> — {t('admin.import.col.phone')}</li>
        <li><Typography.Text code>tags</Typography.Text> — {t('admin.import.col.tags')}</li>
        <li>{t('admin.import.col.other')}</li>
      </ul>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>{t('admin.import.matching')}</Typography.Paragraph>
      <Button size="small" icon={<DownloadOutlined />} onClick={downloadSample} data-testid="contact-import-sample">{t('admin.import.sample')}</Button>
    </div>
  );
}

function ImportProgress({ job, error }: { job: ContactImport; error?: string | undefined }) {
  const { t } = useI18n();
  const percent = job.total > 0 ? Math.floor((job.processed / job.total) * 100) : 0;
  return (
    <div data-testid="contact-import-progress" data-phase="importing" data-status={job.status}>
      <Typography.Paragraph>
        {job.status === 'queued' ? t('admin.import.queued', { name: job.fileName }) : t('admin.import.running', { name: job.fileName })}
      </Typography.Paragraph>
      <Progress percent={percent} status="active" format={() => (job.total > 0 ? `${job.processed} / ${job.total}` : '…')} />
      <Typography.Text type="secondary">{t('admin.import.soFar', { created: job.created, updated: job.updated, failed: job.failed })}</Typography.Text>
      {error && <Alert type="warning" showIcon style={{ marginTop: 12 }} title={t('admin.import.pollTrouble', { error })} />}
    </div>
  );
}

function ImportResult({ job }: { job: ContactImport }) {
  const { t } = useI18n();
  const ok = job.status === 'done';
  return (
    <div data-testid="contact-import-result" data-status={job.status}>
      <Result
        style={{ padding: '8px 0 16px' }}
        status={!ok ? 'error' : job.failed > 0 ? 'warning' : 'success'}
        title={t(ok ? 'admin.import.done' : 'admin.import.failed', { name: job.fileName })}
        subTitle={t('admin.import.rows', { n: job.total })}
      />
      <Flex justify="space-around" style={{ marginBottom: 16 }}>
        <Statistic title={t('admin.import.created')} value={job.created} styles={{ content: { color: '#389e0d' } }} />
        <Statistic title={t('admin.import.updated')} value={job.updated} styles={{ content: { color: '#0958d9' } }} />
        <Statistic title={t('admin.import.failedRows')} value={job.failed} styles={{ content: { color: job.failed ? '#cf1322' : undefined } }} />
      </Flex>
      {job.errors.length > 0 && (
        <>
          <Typography.Text strong>{t('admin.import.errors')}</Typography.Text>
          <Table
            size="small"
            style={{ marginTop: 8 }}
            rowKey={(e) => `${e.row}:${e.message}`}
            dataSource={job.errors}
            pagination={job.errors.length > 8 ? { pageSize: 8, size: 'small' } : false}
            columns={[
              // Row 0 is the server's way of saying "the whole file" (encoding, header, too many rows).
              { title: t('admin.import.row'), dataIndex: 'row', width: 90, render: (row: number) => (row === 0 ? t('admin.import.wholeFile') : row) },
              { title: t('admin.import.problem'), dataIndex: 'message' },
            ]}
            data-testid="contact-import-errors"
          />
          {job.errors.length < job.failed && <Typography.Text type="secondary">{t('admin.import.moreErrors', { shown: job.errors.length, total: job.failed })}</Typography.Text>}
        </>
      )}
    </div>
  );
}
