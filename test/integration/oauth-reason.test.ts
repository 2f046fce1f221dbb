// When an OAuth2 side's access token is refreshed before a probe: the pure decision, table-driven.
// (A unit test; it sits with the other OAuth tests rather than in test/checks/.)
import { describe, expect, it } from 'vitest';
import type { OAuthSettings, ServiceAuth } from '../../src/accounts/types.js';
import { REFRESH_MARGIN_MS, refreshReason, type RefreshReason } from '../../src/checks/oauth-refresh.js';
import type { FailureCode } from '../../src/probes/errors.js';

const NOW = new Date('2026-11-22T08:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

const auth = (over: Partial<ServiceAuth>, oauth: Partial<OAuthSettings> | null = {}): ServiceAuth => ({
  serviceAuthId: 1,
  server: 'imap.example.test',
  port: 993,
  authType: 'oauth2',
  username: 'u',
  password: 'access-token',
  security: 'tls',
  acceptUnverifiedCert: false,
  caPem: null,
  oauth:
    oauth === null
      ? null
      : {
          tokenUrl: 'https://login.example.test/token',
          clientId: 'c',
          clientSecret: null,
          refreshToken: 'r',
          scope: null,
          accessExpiresAt: at(10 * 60_000),
          ...oauth,
        },
  ...over,
});

describe('refreshReason', () => {
  const cases: [string, ServiceAuth, FailureCode | null | undefined, RefreshReason | null][] = [
    ['password auth never refreshes', auth({ authType: 'password', password: '' }), 'auth_rejected', null],
    [
      'oauth2 without refresh settings: the token is used as it is',
      auth({ password: '' }, null),
      undefined,
      null,
    ],
    ['no access token yet', auth({ password: '' }), undefined, 'no_token'],
    ['valid for 10 more minutes', auth({}), undefined, null],
    [
      'valid for just over the margin',
      auth({}, { accessExpiresAt: at(REFRESH_MARGIN_MS + 1) }),
      undefined,
      null,
    ],
    [
      'expires exactly at the margin',
      auth({}, { accessExpiresAt: at(REFRESH_MARGIN_MS) }),
      undefined,
      'expiring',
    ],
    ['already expired', auth({}, { accessExpiresAt: at(-1) }), null, 'expiring'],
    ['expiry unknown, last check passed', auth({}, { accessExpiresAt: null }), null, null],
    ['expiry unknown, never checked', auth({}, { accessExpiresAt: null }), undefined, null],
    [
      'expiry unknown, last check failed otherwise',
      auth({}, { accessExpiresAt: null }),
      'connect_timeout',
      null,
    ],
    [
      'expiry unknown, last check refused the token',
      auth({}, { accessExpiresAt: null }),
      'auth_rejected',
      'rejected',
    ],
    ['valid by its expiry but refused at the last check (revoked)', auth({}), 'auth_rejected', 'rejected'],
  ];
  it.each(cases)('%s', (_name, side, lastCode, expected) => {
    expect(refreshReason(side, NOW, lastCode)).toBe(expected);
  });
});
