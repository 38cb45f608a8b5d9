import { useMemo } from 'react';
import { Select } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';
import { timeZones, zoneOffset } from './format.ts';

/**
 * IANA zones from the browser (Intl.supportedValuesOf), searchable by name or offset ("shanghai", "+08").
 * A saved zone the browser does not list (an alias such as Asia/Chongqing) is kept as an option rather than
 * silently shown blank.
 */
export function TimeZoneSelect(props: { value?: string | null; onChange: (zone: string | undefined) => void; allowClear?: boolean; status?: 'error'; placeholder?: string; testId?: string; style?: React.CSSProperties }) {
  const { t } = useI18n();
  const options = useMemo(() => {
    const now = new Date();
    const zones = timeZones();
    if (props.value && !zones.includes(props.value)) zones.unshift(props.value);
    return zones.map((z) => {
      const offset = zoneOffset(z, now);
      return { value: z, label: offset ? `${z} (UTC${offset})` : z, search: `${z} ${offset} utc${offset}`.toLowerCase() };
    });
  }, [props.value]);
  return (
    <Select
      showSearch={{ filterOption: (input, option) => (option?.search ?? '').includes(input.toLowerCase().replace(/\s+/g, '_')) || (option?.search ?? '').includes(input.toLowerCase()) }}
      allowClear={props.allowClear}
      value={props.value ?? undefined}
      onChange={(v) => props.onChange(v ?? undefined)}
      options={options}
      status={props.status}
      placeholder={props.placeholder ?? t('routing.tz.placeholder')}
      style={props.style ?? { width: '100%' }}
      data-testid={props.testId}
      popupMatchSelectWidth={false}
    />
  );
}
