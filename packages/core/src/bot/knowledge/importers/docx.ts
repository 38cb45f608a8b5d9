import mammoth from 'mammoth';
import { fileProblem, isOle, isZip, wrongFormat, type ParseResult } from './types.ts';
import { htmlToMarkdown } from './html.ts';
import { parseMarkdownText } from './markdown.ts';

/**
 * Word documents (.docx): mammoth turns the document into HTML keeping headings (Heading 1–6 styles → h1–h6),
 * lists, tables, links and bold/italic; then the HTML path. Embedded images are left out: they would
 * become huge data: URLs in the answer (upload them as attachments and link them instead); their alt text
 * stays.
 */
export async function parseDocx(bytes: Buffer, fileName: string): Promise<ParseResult> {
  if (isOle(bytes)) throw wrongFormat(fileName, 'this is an old Word document (.doc); open it in Word or WPS and save it as .docx');
  if (!isZip(bytes)) throw wrongFormat(fileName, 'this is not a Word document (.docx files are zip archives); upload a .docx');
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: bytes },
      { convertImage: mammoth.images.imgElement(async () => ({ src: '' })) },
    );
    html = result.value;
  } catch (err) {
    throw fileProblem(fileName, `the Word document cannot be read (${(err as Error).message.split('\n')[0]}); save it again as .docx`);
  }
  const { markdown } = htmlToMarkdown(html);
  if (!markdown.trim()) throw fileProblem(fileName, 'the Word document has no text');
  return parseMarkdownText(markdown, fileName);
}
