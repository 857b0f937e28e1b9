#!/usr/bin/env node
// The `meshcrypt` command. The program itself is compiled TypeScript in ../dist; this file stays plain
// JavaScript so that pnpm can link it as a bin before anything is built. `pnpm install` at the repository
// root builds the CLI (root `postinstall`), so the message below is only seen after `dist/` was deleted.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'meshcrypt: ERR_NOT_BUILT: apps/cli is not built: run `pnpm build` (or `pnpm install`) at the repository root\n',
  );
  process.exit(1);
}
await import(main.href);
