import { ColorPicker, Input, Space } from 'antd';
import { HEX_COLOR } from './color.ts';

const PRESETS = ['#1677ff', '#13c2c2', '#52c41a', '#fa8c16', '#f5222d', '#eb2f96', '#722ed1', '#262626'];

/**
 * A colour picker next to the hex text it stands for: designers paste brand colours as hex, others click.
 * Both edit the same form value, so the preview follows either one as it changes.
 */
export function ColorField(props: { value?: string; onChange?: (v: string) => void; id?: string }) {
  const value = props.value ?? '';
  return (
    <Space.Compact>
      <ColorPicker
        value={HEX_COLOR.test(value) ? value : '#1677ff'}
        disabledAlpha
        format="hex"
        presets={[{ label: 'Presets', colors: PRESETS, defaultOpen: true }]}
        onChange={(c) => props.onChange?.(c.toHexString())}
      />
      <Input
        id={props.id}
        value={value}
        maxLength={7}
        style={{ width: 110, fontFamily: 'monospace' }}
        onChange={(e) => {
          const v = e.target.value.trim();
          props.onChange?.(v && !v.startsWith('#') ? `#${v}` : v);
        }}
        data-testid="widget-color"
      />
    </Space.Compact>
  );
}
