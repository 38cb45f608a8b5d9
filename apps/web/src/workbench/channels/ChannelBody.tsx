import './channels.css';
import { useState, type ReactNode } from 'react';
import { Button, Tag } from 'antd';
import { FileTextOutlined, MailOutlined, QuestionCircleOutlined } from '@ant-design/icons';
import type { Message } from '@huiliu/contracts';
import { useI18n } from '../../lib/i18n.tsx';
import { EmailFrame } from './EmailFrame.tsx';

/** Messages that need more than their text: emails (subject, HTML), unreadable platform content, templates. */
export const hasChannelBody = (m: Message): boolean => m.subject !== null || m.html !== null || m.unsupported !== null || m.template !== null;

/**
 * The body of a channel message. Emails show their subject and the plain text; "show formatted" renders
 * the (server-sanitized) HTML, and only ever inside a sandboxed frame. Content Huiliu could not read is a
 * neutral notice naming the platform's type. A template shows its name, language and variables.
 * `text` is the message's text as the timeline draws it (links made clickable).
 */
export function ChannelBody({ m, text }: { m: Message; text: ReactNode }) {
  const { t } = useI18n();
  const [formatted, setFormatted] = useState(false);

  if (m.unsupported !== null) {
    return (
      <div className="wb-unsupported" data-testid="msg-unsupported" data-type={m.unsupported}>
        <QuestionCircleOutlined /> {t('channels.msg.unsupported', { type: m.unsupported })}
        {m.text && <div className="wb-unsupported-text">{text}</div>}
      </div>
    );
  }

  if (m.template !== null) {
    return (
      <div data-testid="msg-template" data-template={m.template.name}>
        <div className="wb-template-head">
          <FileTextOutlined /> {t('channels.msg.template')} <strong>{m.template.name}</strong> <Tag style={{ marginInlineEnd: 0, fontSize: 11 }}>{m.template.language}</Tag>
        </div>
        {m.template.variables.length > 0 && (
          <ol className="wb-template-vars">
            {m.template.variables.map((v, i) => (
              <li key={i}>
                <code>{`{{${i + 1}}}`}</code> {v}
              </li>
            ))}
          </ol>
        )}
        {m.text && <div>{text}</div>}
      </div>
    );
  }

  return (
    <div data-testid="msg-email">
      {m.subject !== null && (
        <div className="wb-email-subject" data-testid="msg-subject">
          <MailOutlined /> {m.subject || t('channels.msg.noSubject')}
        </div>
      )}
      {formatted && m.html !== null ? <EmailFrame html={m.html} /> : m.text && <div>{text}</div>}
      {m.html !== null && (
        <Button size="small" type="link" onClick={() => setFormatted((f) => !f)} style={{ padding: 0, height: 'auto', fontSize: 12 }} data-testid="msg-html-toggle" aria-pressed={formatted}>
          {t(formatted ? 'channels.msg.showPlain' : 'channels.msg.showFormatted')}
        </Button>
      )}
    </div>
  );
}
