import { BACKENDS } from './helpers.js';
import { hmacSuite } from './suites/hmac.js';

for (const backend of BACKENDS) hmacSuite(backend);
