import { BACKENDS } from './helpers.js';
import { fernetSuite } from './suites/fernet.js';

for (const backend of BACKENDS) fernetSuite(backend);
