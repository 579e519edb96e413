#!/usr/bin/env node
// Entry point of the `infergate` command. The project ships TypeScript sources and runs them
// through tsx's loader (registered here, and passed to worker threads by the backend).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
