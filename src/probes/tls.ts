// TLS for probes: the options handed to the protocol libraries, the facts read off each TLS socket
// they create, and the mapping of Node's certificate errors to the failure catalogue.
//
// Verification stays with Node (rejectUnauthorized is true unless the account accepts unverified
// certificates), so a broken observer can only lose facts, never let credentials reach an
// unverified server. Facts are read at 'OCSPResponse' (requestOCSP makes Node emit it during the
// handshake, after the server's certificate arrived and before Node verifies it and, on failure,
// destroys the socket) and again at 'secureConnect'.
import {
  createSecureContext,
  rootCertificates,
  TLSSocket,
  type ConnectionOptions,
  type PeerCertificate,
  type SecureContext,
  type TLSSocketOptions,
} from 'node:tls';
import { isIP } from 'node:net';
import type { FailureCode } from './errors.js';
import type { ProbeTarget, TlsFacts } from './types.js';

/** Secure contexts trusting the system CAs plus one extra CA, keyed by that CA's PEM. */
export interface TlsContextCache {
  /** The context trusting the system CAs plus `caPem`, or the system CAs alone when undefined. */
  get(caPem: string | undefined): SecureContext;
}

/**
 * Building a context that trusts the system CAs plus one more parses all ~140 system roots
 * (about 90 ms), so each probe instance keeps the contexts it built: at most `max`, oldest evicted.
 */
export function createTlsContextCache(max = 32): TlsContextCache {
  const contexts = new Map<string, SecureContext>();
  // Without a secureContext, tls.connect builds a new one for every connection (about 0.3 ms of
  // CPU per check); one context per trust set is reused instead.
  let system: SecureContext | undefined;
  return {
    get(caPem) {
      if (caPem === undefined) return (system ??= createSecureContext());
      let context = contexts.get(caPem);
      if (!context) {
        context = createSecureContext({ ca: [...rootCertificates, caPem] });
        contexts.set(caPem, context);
        const oldest = contexts.keys().next().value;
        if (contexts.size > max && oldest !== undefined) contexts.delete(oldest);
      }
      return context;
    },
  };
}

/** Options for tls.connect, shared by implicit TLS and STARTTLS. */
export function tlsConnectOptions(
  target: ProbeTarget,
  contexts: TlsContextCache,
): ConnectionOptions & Pick<TLSSocketOptions, 'requestOCSP'> {
  return {
    rejectUnauthorized: !target.acceptUnverifiedCert,
    // A configured CA is trusted besides the system CAs, not instead of them.
    secureContext: contexts.get(target.caPem || undefined),
    requestOCSP: true,
  };
}

/** SNI / certificate name to use: the host name, or nothing when the target is an IP literal. */
export function serverName(host: string): string | undefined {
  return isIP(host) ? undefined : host;
}

function nameString(name: PeerCertificate['subject'] | undefined): string | null {
  if (!name || typeof name !== 'object') return null;
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`);
  return parts.length > 0 ? parts.join(', ') : null;
}

function isoDate(text: string | undefined): string | null {
  if (!text) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function emptyTlsFacts(): TlsFacts {
  return {
    protocol: null,
    cipher: null,
    subject: null,
    issuer: null,
    subjectAltNames: [],
    validFrom: null,
    notAfter: null,
    authorized: false,
    authorizationError: null,
  };
}

/** Fill `facts` from whatever `socket` can tell right now (handshake in progress or done). */
function readSocket(socket: TLSSocket, facts: TlsFacts, withCertificate: boolean): void {
  const cert = withCertificate ? socket.getPeerCertificate() : undefined;
  if (cert && typeof cert === 'object' && Object.keys(cert).length > 0) {
    facts.subject = nameString(cert.subject);
    facts.issuer = nameString(cert.issuer);
    facts.subjectAltNames = (cert.subjectaltname ?? '')
      .split(', ')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    facts.validFrom = isoDate(cert.valid_from);
    facts.notAfter = isoDate(cert.valid_to);
  }
  facts.protocol = socket.getProtocol() ?? facts.protocol;
  const cipher = socket.getCipher() as { standardName?: string; name?: string } | undefined;
  facts.cipher = cipher?.standardName ?? cipher?.name ?? facts.cipher;
}

/**
 * Watch one TLS socket a library created. `onFacts` gets the facts object once the server's
 * certificate is known (it is updated in place as the handshake completes or fails).
 */
export function observeTlsSocket(
  socket: TLSSocket,
  onFacts: (facts: TlsFacts) => void,
  onHandshake: () => void,
): void {
  const facts = emptyTlsFacts();
  let announced = false;
  const announce = (): void => {
    if (!announced) {
      announced = true;
      onFacts(facts);
    }
  };
  // The certificate is read once, at OCSPResponse (it cannot change later in the handshake);
  // secureConnect reads it only if that event did not come (it did not read it before).
  socket.prependOnceListener('OCSPResponse', () => {
    readSocket(socket, facts, true);
    announce();
  });
  socket.prependOnceListener('secureConnect', () => {
    readSocket(socket, facts, !announced);
    facts.authorized = socket.authorized;
    facts.authorizationError = socket.authorizationError ? String(socket.authorizationError) : null;
    announce();
    onHandshake();
  });
  socket.prependListener('error', (err: NodeJS.ErrnoException) => {
    const code = err.code ?? '';
    if (!facts.authorized && CERT_CODES[code]) {
      facts.authorizationError = code;
      announce();
    }
  });
}

/**
 * Calls `onSocket` whenever `owner[key]` is assigned a socket. The protocol libraries create their
 * sockets themselves (imapflow: `socket`; nodemailer's SMTPConnection: `_socket`), including the
 * TLS socket of a STARTTLS upgrade; this is how the probe sees them. Must run before connect().
 */
export function watchSocketProperty(owner: object, key: string, onSocket: (socket: unknown) => void): void {
  let value: unknown = (owner as Record<string, unknown>)[key];
  Object.defineProperty(owner, key, {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (next: unknown) => {
      value = next;
      if (next && typeof next === 'object') onSocket(next);
    },
  });
}

export function isTlsSocket(socket: unknown): socket is TLSSocket {
  return socket instanceof TLSSocket;
}

type CertCode = Extract<FailureCode, `tls_cert_${string}`>;

/** Node / OpenSSL verification codes → the catalogue. */
const CERT_CODES: Record<string, CertCode | undefined> = {
  CERT_HAS_EXPIRED: 'tls_cert_expired',
  CERT_NOT_YET_VALID: 'tls_cert_expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls_cert_self_signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls_cert_self_signed',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls_cert_name_mismatch',
  HOSTNAME_MISMATCH: 'tls_cert_name_mismatch',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls_cert_untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'tls_cert_untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls_cert_untrusted',
  CERT_UNTRUSTED: 'tls_cert_untrusted',
  CERT_SIGNATURE_FAILURE: 'tls_cert_untrusted',
  CERT_REVOKED: 'tls_cert_untrusted',
  CERT_REJECTED: 'tls_cert_untrusted',
  INVALID_CA: 'tls_cert_untrusted',
  INVALID_PURPOSE: 'tls_cert_untrusted',
  PATH_LENGTH_EXCEEDED: 'tls_cert_untrusted',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'tls_cert_untrusted',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'tls_cert_untrusted',
};

/** The catalogue code for a certificate verification error code, if it is one. */
export function certFailureCode(code: string | undefined): CertCode | undefined {
  return code ? CERT_CODES[code] : undefined;
}

/** Whether an error came from the TLS layer (handshake or alert) rather than the socket or protocol. */
export function isTlsLayerError(err: { code?: unknown; message?: unknown; library?: unknown }): boolean {
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : '';
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code === 'EPROTO' ||
    err.library === 'SSL routines' ||
    /SSL routines|wrong version number|handshake failure|alert/i.test(message)
  );
}

/** A short description of a certificate problem for the reason sentence. */
export function describeCertProblem(
  code: CertCode,
  nodeCode: string,
  facts: TlsFacts | undefined,
  host: string,
): string {
  const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : 'unknown date');
  switch (code) {
    case 'tls_cert_expired':
      return nodeCode === 'CERT_NOT_YET_VALID'
        ? `certificate not valid before ${day(facts?.validFrom ?? null)}`
        : `certificate expired ${day(facts?.notAfter ?? null)}`;
    case 'tls_cert_self_signed':
      return `self-signed certificate${facts?.subject ? ` (${facts.subject})` : ''}`;
    case 'tls_cert_name_mismatch': {
      const names = facts?.subjectAltNames.length ? facts.subjectAltNames.join(' ') : 'none';
      return `certificate name mismatch: ${host} not in ${names}`;
    }
    case 'tls_cert_untrusted':
      return `certificate not trusted (${nodeCode})${facts?.issuer ? `, issuer ${facts.issuer}` : ''}`;
  }
}
