/**
 * A port the server cannot listen on is the most common first-run failure (another server, or a second
 * `npm start`, already holds 8080). Node's own message (`listen EADDRINUSE: address already in use
 * 127.0.0.1:8080`) names neither the setting to change nor a value that would work; this one does.
 */

/** Stable codes: the `code` field of the JSON error line, and the CLI's error code. */
export type ListenFailureCode =
  | 'port_in_use'
  | 'port_not_permitted'
  | 'address_not_available'
  | 'host_not_found';

/** Which listener failed: the API (COHERA_PORT) or the separate metrics listener (COHERA_METRICS_PORT). */
export interface Listener {
  setting: 'COHERA_PORT' | 'COHERA_METRICS_PORT';
  host: string;
  port: number;
}

export class ListenError extends Error {
  readonly code: ListenFailureCode;
  /** The environment variable to change. */
  readonly setting: string;
  readonly host: string;
  readonly port: number;

  constructor(code: ListenFailureCode, message: string, setting: string, listener: Listener) {
    super(message);
    this.name = 'ListenError';
    this.code = code;
    this.setting = setting;
    this.host = listener.host;
    this.port = listener.port;
  }
}

/** The ports suggested when a privileged one is refused: the defaults, which need no privilege. */
const UNPRIVILEGED_DEFAULT = { COHERA_PORT: 8080, COHERA_METRICS_PORT: 9464 } as const;

/**
 * The ListenError for a failed `listen`, or null for a failure that is not about the address (that one is
 * rethrown as it is).
 */
export function listenError(error: unknown, listener: Listener): ListenError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const { setting, host, port } = listener;
  const what = setting === 'COHERA_PORT' ? 'Port' : 'Metrics port';
  switch (code) {
    case 'EADDRINUSE': {
      const other = port < 65535 ? port + 1 : port - 1;
      return new ListenError(
        'port_in_use',
        `${what} ${port} on ${host} is already in use. Stop the other server, or choose another port with ${setting}=${other}.`,
        setting,
        listener,
      );
    }
    case 'EACCES': {
      const fallback = UNPRIVILEGED_DEFAULT[setting];
      const instead =
        port === fallback ? 'another port from 1024 up' : `another port with ${setting}=${fallback}`;
      return new ListenError(
        'port_not_permitted',
        `${what} ${port} on ${host} needs privileges this process does not have (ports below 1024 usually do). Choose ${instead}, or put a reverse proxy in front.`,
        setting,
        listener,
      );
    }
    case 'EADDRNOTAVAIL':
      return new ListenError(
        'address_not_available',
        `Cannot listen on ${host}: it is not an address of this machine. Set COHERA_HOST to one of its addresses, to 127.0.0.1 (this machine only) or to 0.0.0.0 (every network interface).`,
        'COHERA_HOST',
        listener,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenError(
        'host_not_found',
        `Cannot listen on ${host}: the name does not resolve to an address. Set COHERA_HOST to an address of this machine, such as 127.0.0.1 or 0.0.0.0.`,
        'COHERA_HOST',
        listener,
      );
    default:
      return null;
  }
}
