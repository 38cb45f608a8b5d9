import sanitize from 'sanitize-html';

/**
 * Incoming email HTML, made safe to keep (content.html). The workbench still shows it in a sandboxed
 * frame; this is the second wall, so it is an allowlist: formatting, lists, tables, quotes, links and
 * images. Nothing executes or submits: no script/style/iframe/object/form elements, no event-handler or
 * style attributes, no javascript:/vbscript: URLs. Images keep only https, cid: (inline parts of the same
 * email) and data:image/ (a pasted screenshot) sources — plain http images are tracking pixels on a
 * downgraded connection, so they go. Links open in a new tab without access to the opener.
 */

const ALLOWED_TAGS = [
  'a', 'abbr', 'b', 'blockquote', 'br', 'caption', 'cite', 'code', 'col', 'colgroup', 'dd', 'del', 'div', 'dl', 'dt',
  'em', 'font', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'ol', 'p', 'pre',
  'q', 's', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr',
  'u', 'ul',
];

/** Data URLs of raster images only: an SVG data URL may carry script. */
const SAFE_DATA_IMAGE = /^data:image\/(png|jpe?g|gif|webp);base64,[a-z0-9+/=\s]+$/i;

function safeImageSrc(src: string | undefined): string | null {
  if (!src) return null;
  const s = src.trim();
  if (/^https:\/\//i.test(s) || /^cid:/i.test(s)) return s;
  if (SAFE_DATA_IMAGE.test(s)) return s;
  return null;
}

const OPTIONS: sanitize.IOptions = {
  allowedTags: ALLOWED_TAGS,
  // Elements whose text content is code or markup are dropped with their content, not unwrapped.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'iframe', 'object', 'embed', 'template', 'svg', 'math'],
  disallowedTagsMode: 'discard',
  allowedAttributes: {
    a: ['href', 'title', 'rel', 'target'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    td: ['colspan', 'rowspan', 'align', 'valign'],
    th: ['colspan', 'rowspan', 'align', 'valign', 'scope'],
    col: ['span'],
    colgroup: ['span'],
    table: ['border', 'cellpadding', 'cellspacing'],
    ol: ['start', 'type'],
    font: ['color'],
    p: ['align'],
    div: ['align'],
    blockquote: ['cite'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['https', 'cid', 'data'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  transformTags: {
    a: (tagName, attribs) => {
      const out: sanitize.Attributes = { rel: 'noopener noreferrer', target: '_blank' };
      if (attribs.href) out.href = attribs.href;
      if (attribs.title) out.title = attribs.title;
      return { tagName, attribs: out };
    },
    img: (tagName, attribs) => {
      const src = safeImageSrc(attribs.src);
      const out: sanitize.Attributes = {};
      if (src) out.src = src;
      for (const k of ['alt', 'title', 'width', 'height']) if (attribs[k]) out[k] = attribs[k]!;
      return { tagName, attribs: out };
    },
  },
  // An <img> whose source was refused is removed rather than left as a broken image.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
};

export function sanitizeEmailHtml(html: string): string {
  return sanitize(html, OPTIONS).trim();
}
