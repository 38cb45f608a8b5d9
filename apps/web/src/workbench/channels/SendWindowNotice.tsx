import { Alert } from 'antd';
import { ClockCircleOutlined } from '@ant-design/icons';
import type { SendWindowStatus } from '@huiliu/contracts';
import { useI18n, type Translate } from '../../lib/i18n.tsx';
import { useNow } from '../bits.tsx';
import { TemplateForm } from './TemplateForm.tsx';

/** "3 h 20 min" / "45 min" until the window closes. */
function remaining(t: Translate, ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return t('channels.window.minutes', { m: Math.max(1, m) });
  return m === 0 || h >= 10 ? t('channels.window.hours', { h }) : t('channels.window.hoursMinutes', { h, m });
}

/**
 * Above the composer on an external channel: why free text is not possible now (and the template form
 * when templates still are), or how long the reply window stays open and how many messages are left;
 * a warning when the text is longer than the channel carries.
 */
export function SendWindowNotice({ status, conversationId, textLength, onTemplateSent }: { status: SendWindowStatus; conversationId: string; textLength: number; onTemplateSent: () => void }) {
  const { t } = useI18n();
  const now = useNow(30_000);
  const channel = t(`channel.${status.channelType}`);
  const max = status.capabilities.maxTextLength;

  let window = null;
  if (!status.allowed) {
    // The agent's language first (by reason code); the server's own sentence, which names the rule and
    // the customer's situation, underneath.
    const headline = (status.reasonCode ? t(`channels.window.reason.${status.reasonCode}`) : t('channels.window.blocked')) + (status.templatesOnly ? t('channels.window.templatesOnly') : '');
    window = (
      <Alert
        type="warning"
        showIcon
        title={headline}
        description={status.reason ?? undefined}
        data-testid="send-window-blocked"
        data-reason={status.reasonCode ?? ''}
        style={{ marginBottom: 6, padding: '6px 10px' }}
      />
    );
  } else if (status.closesAt || status.remainingMessages !== null) {
    const closesIn = status.closesAt ? new Date(status.closesAt).getTime() - now : null;
    const soon = closesIn !== null && closesIn < 60 * 60_000;
    window = (
      <div className="wb-sendwindow-line" data-testid="send-window-open" style={soon ? { color: '#d46b08' } : undefined}>
        <ClockCircleOutlined />
        {closesIn !== null && <span>{t('channels.window.closesIn', { time: remaining(t, closesIn) })}</span>}
        {status.remainingMessages !== null && <span>{t('channels.window.remaining', { n: status.remainingMessages })}</span>}
      </div>
    );
  }

  return (
    <div className="wb-sendwindow">
      {window}
      {!status.allowed && status.templatesOnly && <TemplateForm conversationId={conversationId} onSent={onTemplateSent} />}
      {status.allowed && textLength > max && (
        <Alert type="warning" showIcon title={t('channels.window.tooLong', { channel, max: max.toLocaleString(), n: textLength.toLocaleString() })} data-testid="send-window-too-long" style={{ marginBottom: 6, padding: '4px 10px' }} />
      )}
    </div>
  );
}
