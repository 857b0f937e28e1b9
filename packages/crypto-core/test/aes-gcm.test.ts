import { BACKENDS } from './helpers.js';
import { aesGcmSuite } from './suites/aes-gcm.js';

for (const backend of BACKENDS) aesGcmSuite(backend);
