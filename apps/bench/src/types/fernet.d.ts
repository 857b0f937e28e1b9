/** The parts of npm `fernet` 0.4.0 (no bundled types) that the benchmark uses. */
declare module 'fernet' {
  class Secret {
    constructor(base64Key: string);
  }
  class Token {
    constructor(options: { secret: Secret; token?: string; ttl?: number; time?: Date; iv?: number[] });
    encode(message: string): string;
    decode(): string;
  }
  const fernet: { Secret: typeof Secret; Token: typeof Token };
  export default fernet;
}
