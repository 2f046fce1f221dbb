// Socket-level errors (errno codes from net.connect and the socket) → the failure catalogue.
// Shared by the IMAP and SMTP classifiers.
import { ProbeError, type Phase } from './errors.js';

const UNREACHABLE = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ECONNABORTED',
]);
const RESET = new Set(['ECONNRESET', 'EPIPE']);

/** The errno code of `err`, or of the error it wraps (nodemailer keeps it as `originalCode`). */
export function errnoOf(err: Error): string {
  const e = err as { code?: unknown; originalCode?: unknown };
  if (typeof e.originalCode === 'string') return e.originalCode;
  return typeof e.code === 'string' ? e.code : '';
}

export function classifyNetworkError(err: Error, phase: Phase): ProbeError | undefined {
  const code = errnoOf(err);
  if (code === 'ECONNREFUSED')
    return new ProbeError('connection_refused', 'connect', 'nothing listens on that port', { cause: err });
  if (code === 'ETIMEDOUT' && phase === 'connect') {
    return new ProbeError('connect_timeout', 'connect', 'the operating system gave up connecting', {
      cause: err,
    });
  }
  if (RESET.has(code))
    return new ProbeError('connection_closed', phase, `connection reset during ${phase}`, { cause: err });
  if (UNREACHABLE.has(code))
    return new ProbeError('network_error', phase, `${code} during ${phase}`, { cause: err });
  return undefined;
}
