/** Messages between the orchestrator and its service processes (IPC), and markers in HTTP answers. */

/** A service tells the orchestrator it listens and has opened the keyring. */
export interface ReadyMessage {
  type: 'ready';
  name: string;
  port: number;
  /** The AES-256-GCM key it encrypts under after opening the keyring (a restarted one shows it caught up). */
  primaryKeyId: number;
}

/** A service could not start (e.g. its port is taken): the orchestrator turns this into one clear line. */
export interface FailedMessage {
  type: 'failed';
  name: string;
  code: string | undefined;
  message: string;
}

/** The orchestrator tells a service its peers' ports, or to stop. */
export type ServiceControl = { type: 'peers'; peers: Record<string, number> } | { type: 'stop' };

/** Start of a 503 body from `/call` when the peer could not be reached (it is down), not a failed call. */
export const PEER_UNAVAILABLE = 'peer-unavailable';
