import { getChaChaBackend, nobleChaChaBackend } from '../src/index.js';
import { chachaPolySuite } from './suites/chacha-poly1305.js';

// Both backends, always: sodium-native ships prebuilt binaries for this platform, so 'sodium' must load here
// (getChaChaBackend('sodium') throws if it does not, which fails the run instead of skipping half of it).
for (const backend of [getChaChaBackend('sodium'), nobleChaChaBackend]) chachaPolySuite(backend);
