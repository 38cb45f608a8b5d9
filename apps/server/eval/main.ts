/**
 * `npm run eval -- <intents|retrieval|sentiment> [options]`: evaluations of the bot's language engine on
 * labelled data. Each prints human-readable progress on stderr and ONE JSON line of figures last on stdout.
 */
const commands: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  intents: () => import('./intents.ts'),
  retrieval: () => import('./retrieval.ts'),
  sentiment: () => import('./sentiment.ts'),
};

const [name, ...rest] = process.argv.slice(2);
const load = name ? commands[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run eval -- <${Object.keys(commands).join('|')}> [options]   (see docs/bot.md)\n`);
  process.exit(2);
}
try {
  await (await load()).run(rest);
} catch (err) {
  process.stderr.write(`eval ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
