import { BACKENDS } from './helpers.js';
import { aesCbcSuite } from './suites/aes-cbc.js';

for (const backend of BACKENDS) aesCbcSuite(backend);
