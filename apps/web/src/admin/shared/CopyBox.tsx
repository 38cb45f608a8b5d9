import type { CSSProperties } from 'react';
import { Typography } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';

/**
 * A long value to hand over verbatim (a link, a token, a script tag): monospace, wraps anywhere, with a
 * copy button. Inline <code> wraps badly for 100-character URLs, hence a block.
 */
export function CopyBox(props: { text: string; dark?: boolean; testId?: string; copyTestId?: string; style?: CSSProperties }) {
  const { t } = useI18n();
  return (
    <div
      style={{
        display: 'flex',
        alignItems: 'flex-start',
        gap: 8,
        background: props.dark ? '#141414' : '#f5f5f5',
        color: props.dark ? '#f0f0f0' : undefined,
        border: props.dark ? undefined : '1px solid #e8e8e8',
        borderRadius: 8,
        padding: '10px 12px',
        ...props.style,
      }}
    >
      <div
        data-testid={props.testId}
        style={{ flex: 1, minWidth: 0, fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: 12.5, lineHeight: 1.6, wordBreak: 'break-all', whiteSpace: 'pre-wrap' }}
      >
        {props.text}
      </div>
      <Typography.Text
        copyable={{ text: props.text, tooltips: [t('admin.copy'), t('admin.copied')] }}
        style={{ flex: 'none', color: props.dark ? '#91caff' : undefined }}
        data-testid={props.copyTestId}
      />
    </div>
  );
}
