/** Mirrors WidgetSettings.color in packages/contracts (the server re-checks; this only spares a round trip). */
export const HEX_COLOR = /^#[0-9a-fA-F]{6}$/;

/**
 * Black or white text for a background, by WCAG relative luminance: an admin who picks a pale brand colour
 * must still get a readable widget header.
 */
export function textOn(hex: string): '#ffffff' | '#1f1f1f' {
  if (!HEX_COLOR.test(hex)) return '#ffffff';
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // 0.179 is where black and white text have equal contrast ratios against the background.
  return l > 0.179 ? '#1f1f1f' : '#ffffff';
}
