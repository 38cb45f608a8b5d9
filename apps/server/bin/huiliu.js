#!/usr/bin/env node
// The `huiliu` command: runs the TypeScript CLI (apps/server/src/main.ts) through tsx, without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
