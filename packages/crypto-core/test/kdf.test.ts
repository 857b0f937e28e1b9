import { BACKENDS } from './helpers.js';
import { hkdfSuite, pbkdf2Suite } from './suites/kdf.js';

for (const backend of BACKENDS) {
  hkdfSuite(backend);
  pbkdf2Suite(backend);
}
