import { AutoComplete } from 'antd';

const HALF_HOURS = Array.from({ length: 48 }, (_, i) => `${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '30' : '00'}`);

/**
 * "HH:MM" on the 24-hour clock, typed or picked from half hours. Not <input type="time">: it cannot hold
 * 24:00 ("until midnight", which end times need) and shows AM/PM in English browsers.
 */
export function ClockInput(props: { value: string | undefined; onChange: (v: string) => void; end?: boolean; status?: 'error'; testId?: string; width?: number }) {
  const all = props.end ? [...HALF_HOURS.slice(1), '24:00'] : HALF_HOURS;
  const typed = props.value ?? '';
  const options = all.filter((h) => !typed || h.startsWith(typed.slice(0, 2))).map((h) => ({ value: h }));
  return (
    <AutoComplete
      value={props.value}
      options={options}
      onChange={(v: string) => props.onChange(v.replace('：', ':').trim())}
      placeholder={props.end ? '18:00' : '09:00'}
      status={props.status}
      style={{ width: props.width ?? 90 }}
      popupMatchSelectWidth={90}
      data-testid={props.testId}
      maxLength={5}
    />
  );
}
