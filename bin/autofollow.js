#!/usr/bin/env node
// The package's `bin`: runs the TypeScript sources through tsx, so `npx autofollow` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../server/main.ts');
