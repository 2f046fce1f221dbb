// The probes' public surface: what the scheduler, CLI and API import.
export { createImapProbe, DEFAULT_MAILBOX, type ImapProbeDeps } from './imap.js';
export { createSmtpProbe, type SmtpProbeDeps } from './smtp.js';
export {
  refreshAccessToken,
  type OAuth2Deps,
  type OAuth2RefreshRequest,
  type OAuth2Token,
} from './oauth2.js';
export { failureResult, formatReason, MAX_REASON_CHARS } from './context.js';
export { systemResolve } from './resolve.js';
export { MAX_TRANSCRIPT_LINES, MAX_TRANSCRIPT_LINE_CHARS } from './transcript.js';
export * from './errors.js';
export type * from './types.js';
