/**
 * The widget's whole stylesheet, injected into its shadow root.
 *
 * Isolation: the shadow root keeps the host page's selectors out, but inherited properties (font, color,
 * line-height, letter-spacing…) still flow in through the host element, and the page may style the host
 * element itself (`* { … }`). `all: initial !important` on :host handles both: inside a shadow tree an
 * !important declaration beats the outer page's, even !important ones. Sizes are in px, never rem, because
 * sites set `html { font-size: 10px }`.
 *
 * Phones: the panel goes full-screen below 480 px. `max-device-width` too, because on a host page without
 * a viewport meta tag a phone lays the page out 980 px wide and `max-width` alone would never match.
 *
 * Theme: `--c` is the inbox's brand color and `--ct` the text color readable on it (computed in JS).
 */
export const CSS = `
:host{all:initial!important;display:block!important;position:static!important;visibility:visible!important;opacity:1!important}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.r{font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",Roboto,"Helvetica Neue",Arial,sans-serif,"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji";color:#1f2329;-webkit-font-smoothing:antialiased;text-align:left}
button{font:inherit;color:inherit;background:none;border:0;padding:0;margin:0;cursor:pointer}
button:focus-visible,a:focus-visible,input:focus-visible,textarea:focus-visible{outline:2px solid var(--c);outline-offset:2px}
.launcher{position:fixed;z-index:2147483000;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;background:var(--c);color:var(--ct);display:flex;align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}
.launcher:hover{transform:scale(1.06)}
.left .launcher,.left .panel{left:20px;right:auto}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#f5222d;color:#fff;font-size:12px;font-weight:600;line-height:18px;text-align:center;border:2px solid #fff}
.panel{position:fixed;z-index:2147483000;bottom:88px;right:20px;width:370px;height:600px;max-height:calc(100vh - 108px);background:#fff;border-radius:14px;box-shadow:0 12px 48px rgba(0,0,0,.24);display:flex;flex-direction:column;overflow:hidden;animation:hl-in .18s ease-out}
@keyframes hl-in{from{opacity:0;transform:translateY(12px)}}
.head{background:var(--c);color:var(--ct);padding:12px 8px 12px 16px;display:flex;align-items:center;gap:10px;flex:none}
.logo{width:36px;height:36px;border-radius:50%;background:rgba(255,255,255,.22);display:flex;align-items:center;justify-content:center;font-weight:600;flex:none}
.ht{flex:1;min-width:0}
.title{font-weight:600;font-size:15px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.sub{font-size:12px;opacity:.88}
.ib{width:36px;height:36px;border-radius:8px;display:flex;align-items:center;justify-content:center;flex:none}
.head .ib:hover{background:rgba(255,255,255,.16)}
.queue{background:#fffbe6;color:#7a5b00;border-bottom:1px solid #ffe58f;padding:8px 16px;font-size:13px;flex:none}
.list{flex:1;overflow-y:auto;padding:8px 14px 12px;background:#f5f6f8;overscroll-behavior:contain}
.more{display:block;margin:4px auto;font-size:12px;color:#667085;text-decoration:underline}
.row{display:flex;gap:8px;margin-top:3px;align-items:flex-end}
.row.first{margin-top:14px}
.row.out{justify-content:flex-end}
.av{width:28px;height:28px;border-radius:50%;flex:none;background:var(--c);color:var(--ct);font-size:12px;display:flex;align-items:center;justify-content:center;object-fit:cover}
.av.sp{visibility:hidden}
.col{max-width:78%;min-width:0;display:flex;flex-direction:column;align-items:flex-start}
.out .col{align-items:flex-end}
.who{font-size:12px;color:#667085;margin:0 0 2px 2px}
.bub{padding:8px 12px;border-radius:16px;background:#fff;white-space:pre-wrap;overflow-wrap:anywhere;box-shadow:0 1px 2px rgba(16,24,40,.08);max-width:100%}
.in .bub{border-bottom-left-radius:4px}
.out .bub{background:var(--c);color:var(--ct);border-bottom-right-radius:4px}
.bub a{color:inherit}
.bub.media{padding:3px}
.bub.pic,.out .bub.pic{padding:0;background:none;box-shadow:none}
.failed .bub{opacity:.6}
.img{display:block;max-width:100%;width:auto;max-height:200px;min-width:48px;min-height:48px;border-radius:13px;background:#e4e7ec}
.fl{display:flex;gap:8px;align-items:center;text-decoration:none;padding:5px 9px}
.fl b{font-weight:500;overflow-wrap:anywhere}
.fl small{display:block;opacity:.75;font-size:12px}
.meta{font-size:11px;color:#98a2b3;margin:2px 4px 0;display:flex;gap:6px;align-items:center}
.meta .e{color:#d92d20}
.meta button{color:#d92d20;font-weight:600;text-decoration:underline}
.sys{text-align:center;font-size:12px;color:#98a2b3;margin:12px 20px}
.typing{padding:2px 16px 6px;font-size:12px;color:#667085;background:#f5f6f8;flex:none}
.dots{display:inline-flex;gap:3px;margin-left:4px;vertical-align:middle}
.dots i{width:5px;height:5px;border-radius:50%;background:currentColor;animation:hl-b 1.2s infinite}
.dots i:nth-child(2){animation-delay:.2s}.dots i:nth-child(3){animation-delay:.4s}
@keyframes hl-b{0%,80%,100%{opacity:.3;transform:none}40%{opacity:1;transform:translateY(-3px)}}
.alert{background:#fef3f2;color:#b42318;font-size:13px;padding:8px 8px 8px 16px;display:flex;gap:8px;align-items:center;border-top:1px solid #fecdca;flex:none}
.alert span{flex:1}
.alert .ib{width:28px;height:28px}
.prog{padding:8px 8px 8px 16px;font-size:12px;color:#475467;border-top:1px solid #eaecf0;display:flex;gap:10px;align-items:center;flex:none}
.prog span{max-width:45%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{flex:1;height:6px;background:#eaecf0;border-radius:3px;overflow:hidden}
.bar i{display:block;height:100%;width:0;background:var(--c);transition:width .15s}
.prog .ib{width:28px;height:28px}
.comp{display:flex;align-items:flex-end;gap:2px;padding:8px;border-top:1px solid #eaecf0;background:#fff;flex:none;position:relative}
.comp textarea{flex:1;min-width:0;resize:none;border:0;outline:0;font:inherit;color:inherit;background:transparent;padding:8px 6px;height:36px;max-height:120px;line-height:20px}
.tool{color:#667085}
.tool:hover{color:var(--c);background:#f2f4f7}
.sendb{background:var(--c);color:var(--ct);border-radius:50%}
.sendb:disabled{opacity:.35;cursor:default}
.picker{position:absolute;bottom:100%;left:8px;margin-bottom:6px;background:#fff;border:1px solid #eaecf0;border-radius:12px;box-shadow:0 8px 24px rgba(16,24,40,.16);padding:6px;display:grid;grid-template-columns:repeat(8,1fr);gap:2px;width:304px;max-width:calc(100% - 16px)}
.picker button{font-size:20px;height:34px;border-radius:6px;line-height:1}
.picker button:hover,.picker button:focus-visible{background:#f2f4f7}
.foot{text-align:center;font-size:11px;color:#98a2b3;padding:0 0 6px;background:#fff;flex:none}
.card{background:#fff;border:1px solid #eaecf0;border-radius:12px;padding:12px;margin:14px 0 4px;font-size:13px}
.card p{margin:0 0 8px}
.ok{color:#067647}
.form{flex:1;overflow-y:auto;padding:8px 14px 16px;background:#f5f6f8}
.field{display:block;margin:0 0 10px}
.field span{display:block;font-size:12px;color:#475467;margin-bottom:4px}
.inp{width:100%;min-width:0;border:1px solid #d0d5dd;border-radius:8px;padding:8px 10px;font:inherit;color:inherit;background:#fff;outline:0}
.inp:focus{border-color:var(--c)}
.inp[aria-invalid=true]{border-color:#d92d20}
.btn{background:var(--c);color:var(--ct);border-radius:8px;padding:8px 14px;font-weight:600;white-space:nowrap}
.btn.wide{width:100%;padding:10px}
.btn:disabled{opacity:.5}
.hz{display:flex;gap:6px}
@media (max-width:480px),(max-device-width:480px){.panel{inset:0;width:auto;height:auto;max-height:none;border-radius:0}.open .launcher{display:none}.comp textarea,.inp{font-size:16px}}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
`;

/** Black or white text, whichever reads better on the brand color (WCAG relative luminance). */
export function textOn(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin((n >> 16) & 255) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  // Above ~0.45 (yellow, light green, pastel) dark text reads better; below it white is what brand
  // colors are designed for (a pure contrast-ratio comparison would pick black on #1677ff).
  return l > 0.45 ? '#1f2329' : '#fff';
}
