// Its own file: forge's PBKDF2 is the slowest suite, so vitest runs it beside the others.
import { BACKENDS } from './helpers.js';
import { pbkdf2Suite } from './suites/kdf.js';

for (const backend of BACKENDS) pbkdf2Suite(backend);
