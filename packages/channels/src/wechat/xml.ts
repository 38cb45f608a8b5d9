/**
 * The flat XML documents WeChat and WeCom push (`<xml><ToUserName>…</ToUserName>…</xml>`), parsed with
 * fast-xml-parser. Anything with a DOCTYPE is refused before parsing: WeChat never sends one, and it is
 * how external-entity (XXE) and entity-expansion attacks arrive. Values stay strings (MsgId has 19
 * digits, beyond a JavaScript number).
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { ChannelError } from '../adapter.ts';

/** WeChat pushes are a few hundred bytes; a large body is not from WeChat. */
export const MAX_XML_BYTES = 64 * 1024;

const parser = new XMLParser({ parseTagValue: false, parseAttributeValue: false, ignoreAttributes: true, trimValues: true, processEntities: true, htmlEntities: false });

export type XmlRecord = { [name: string]: string | XmlRecord | XmlRecord[] | string[] };

/** Where a tag that starts at `i` ends (its `close`), skipping quoted values as fast-xml-parser does; -1 if never. */
function tagEnd(text: string, i: number, close: string): number {
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '"' || c === "'") {
      j = text.indexOf(c, j + 1);
      if (j < 0) return -1;
    } else if (text.startsWith(close, j)) {
      return j + close.length;
    }
  }
  return -1;
}

/**
 * A `<!…>` other than a comment or CDATA section (DOCTYPE, ENTITY, ELEMENT…) anywhere in the markup.
 * Every `<` is read the way the parser reads it — comments, CDATA, processing instructions and tags
 * (with their quoted attribute values) are skipped whole — so a customer's text that merely mentions
 * "<!DOCTYPE" inside CDATA (a pasted web page) is not mistaken for one, and a "<!--" or "<![CDATA["
 * inside an attribute value cannot hide a real DOCTYPE behind it.
 */
function hasMarkupDeclaration(text: string): boolean {
  for (let i = text.indexOf('<'); i >= 0; i = text.indexOf('<', i)) {
    let end: number;
    if (text.startsWith('<!--', i)) {
      end = text.indexOf('-->', i + 4);
      end = end < 0 ? -1 : end + 3;
    } else if (text.startsWith('<![CDATA[', i)) {
      end = text.indexOf(']]>', i);
      end = end < 0 ? -1 : end + 3;
    } else if (text.startsWith('<!', i)) {
      return true;
    } else if (text.startsWith('</', i)) {
      end = text.indexOf('>', i);
      end = end < 0 ? -1 : end + 1;
    } else {
      end = tagEnd(text, i + 1, text.startsWith('<?', i) ? '?>' : '>');
    }
    // Unterminated: not well-formed, the parser refuses it.
    if (end < 0) return false;
    i = end;
  }
  return false;
}

/** The children of the root `<xml>` element. Throws ChannelError('malformed') naming the problem. */
export function parseWechatXml(body: Buffer | string): XmlRecord {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > MAX_XML_BYTES) throw new ChannelError('malformed', `the XML body is ${size} bytes; WeChat pushes are at most ${MAX_XML_BYTES}`);
  const text = body.toString();
  if (hasMarkupDeclaration(text)) throw new ChannelError('malformed', 'XML with a DOCTYPE or entity declarations is refused');
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch (err) {
    throw new ChannelError('malformed', `the body is not well-formed XML: ${(err as Error).message.slice(0, 120)}`);
  }
  const root = (doc as { xml?: unknown } | null)?.xml;
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new ChannelError('malformed', 'the body is not a WeChat <xml> document');
  return root as XmlRecord;
}

/** A string field of a parsed document ('' when absent or not text). */
export function xmlText(doc: XmlRecord, name: string): string {
  const v = doc[name];
  return typeof v === 'string' ? v : '';
}

const builder = new XMLBuilder({ cdataPropName: '__cdata', format: false, suppressEmptyNode: false });

/**
 * Builds `<xml>…</xml>`: strings as CDATA (WeChat's own style), numbers as plain text. (A "]]>" inside a
 * string is split across two CDATA sections by the builder.)
 */
export function buildWechatXml(fields: Record<string, string | number>): string {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    obj[k] = typeof v === 'number' ? v : { __cdata: v };
  }
  return builder.build({ xml: obj }) as string;
}
