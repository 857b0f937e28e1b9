import { BACKENDS } from './helpers.js';
import { hkdfSuite } from './suites/kdf.js';

for (const backend of BACKENDS) hkdfSuite(backend);
