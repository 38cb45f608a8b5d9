import { Tooltip } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';
import { tokens } from './variables.ts';

/** Canned text with its {{variables}} highlighted; a variable the server does not know is marked red. */
export function CannedContent({ content }: { content: string }) {
  const { t } = useI18n();
  return (
    <span style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
      {tokens(content).map((p, i) =>
        p.variable === undefined ? (
          <span key={i}>{p.text}</span>
        ) : p.known ? (
          <span key={i} style={{ background: '#e6f4ff', color: '#0958d9', borderRadius: 4, padding: '0 3px' }}>{p.text}</span>
        ) : (
          <Tooltip key={i} title={t('admin.canned.unknownVariable')}>
            <span style={{ background: '#fff1f0', color: '#cf1322', borderRadius: 4, padding: '0 3px' }}>{p.text}</span>
          </Tooltip>
        ),
      )}
    </span>
  );
}
