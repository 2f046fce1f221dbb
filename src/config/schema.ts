import cron from 'node-cron';
import { z } from 'zod';
import { egressConfigSchema, isValidCidr } from '../egress/config.js';

/** Hard limits in one place: config values outside them are refused at start-up. */
export const LIMITS = {
  maxConcurrency: 1000,
  maxCheckTimeoutSeconds: 600,
  maxBodyBytes: 10 * 1024 * 1024,
  errorReasonLength: 254,
} as const;

const cronField = z
  .string()
  .min(1)
  .refine((value) => cron.validate(value), 'is not a valid cron expression');

/**
 * The whole configuration, with every default. config/mailmon.yaml documents the same keys;
 * environment variables (see ENV_VARS in load.ts) override the file.
 */
export const configSchema = z
  .object({
    database: z
      .object({
        /** sqlite:PATH (relative to the working directory), sqlite:///ABS/PATH, or mysql://user:pass@host:port/db */
        url: z
          .string()
          .regex(/^(sqlite:|mysql:\/\/|mariadb:\/\/)/, 'must start with sqlite:, mysql:// or mariadb://')
          .default('sqlite:./data/mailmon.sqlite'),
        /** Connection pool size for MySQL. */
        poolMax: z.number().int().min(1).max(100).default(10),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        /** Keyring in text form (`id:base64key[,id:base64key...]`, first = active). Prefer keyFile. */
        key: z.string().min(1).optional(),
        /** Key file; on the embedded SQLite default it is generated (mode 0600) on first start. */
        keyFile: z.string().min(1).default('./data/secret.key'),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(9187),
        /** SHA-256 hex digests of API tokens (`mailmon tokens hash` prints one). */
        tokenHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest')).default([]),
        /** Serve /metrics without a token. */
        publicMetrics: z.boolean().default(true),
        /** Serve /healthz without a token. */
        publicHealth: z.boolean().default(true),
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(LIMITS.maxBodyBytes)
          .default(1024 * 1024),
        /**
         * Probe work per minute per client on the test endpoints: one unit per side tested (a
         * dealer batch of 50 entries × 2 sides costs 100, so the default allows one full batch).
         */
        testRateLimitPerMinute: z.number().int().min(1).default(100),
        /**
         * Reverse proxies (IPs or CIDRs) whose X-Forwarded-For names the client. Empty: the header
         * is ignored and the client is the TCP peer (behind a proxy, every client would share one
         * rate-limit budget).
         */
        trustedProxies: z
          .array(
            z.string().refine(isValidCidr, {
              message: 'expected a proxy address or CIDR such as 10.0.0.5 or 10.0.0.0/8',
            }),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    scheduler: z
      .object({
        /** Run the claim loop at all (off: only `mailmon check` and the API test accounts). */
        enabled: z.boolean().default(true),
        /**
         * An account is due again this long after it was last due. The claim loop takes each account
         * when it falls due (within replicas.pollSeconds), so this is the whole schedule.
         */
        checkIntervalSeconds: z.number().int().min(10).default(300),
        /** At most this many checks run at once. */
        concurrency: z.number().int().min(1).max(LIMITS.maxConcurrency).default(16),
        /** At most this many checks run at once against one server host (providers throttle logins). */
        perHostConcurrency: z.number().int().min(1).max(LIMITS.maxConcurrency).default(4),
        /** Hard deadline for one side (IMAP or SMTP) of one check. */
        checkTimeoutSeconds: z.number().min(1).max(LIMITS.maxCheckTimeoutSeconds).default(30),
        /**
         * After a credential failure (auth_rejected, basic_auth_disabled, ...) an account's checks
         * back off 1, 2, 4 … × the interval up to this many hours, until its credentials are saved
         * anew or it is tested by hand (see the README's "Never locking a user out").
         */
        authBackoffMaxHours: z.number().min(0).max(720).default(24),
        /** Refused logins in a row at one server host (any accounts) before that host is slowed down. */
        hostBackoffAfterRefusals: z.number().int().min(1).max(100_000).default(10),
      })
      .strict()
      .prefault({}),
    replicas: z
      .object({
        /** A claim holds an account this long without renewal; a dead replica's accounts are due again after it. */
        leaseSeconds: z.number().int().min(5).max(3600).default(45),
        /** Idle wait between claims when nothing is due (the most a due account waits). */
        pollSeconds: z.number().min(0.05).max(60).default(1),
        /** Heartbeat period; a replica is dead after three missed ones. */
        heartbeatSeconds: z.number().int().min(1).max(300).default(10),
        /** The leader lease (per-account series, accounts per status, housekeeping). */
        leaderLeaseSeconds: z.number().int().min(3).max(3600).default(30),
        /** Claims without a result after which an account is recorded as check_abandoned. */
        maxClaimAttempts: z.number().int().min(1).max(100).default(3),
      })
      .strict()
      .prefault({}),
    status: z
      .object({
        /** ErrorCount at which Failing becomes Failed. */
        failedThreshold: z.number().int().min(1).default(3),
      })
      .strict()
      .prefault({}),
    history: z
      .object({
        /** Check results older than this are deleted by the leader's pruning. 0 keeps everything. */
        retentionDays: z.number().int().min(0).default(30),
        /**
         * node-cron expression (seconds field optional) for when the leader prunes history, in
         * bounded batches; e.g. '30 3 * * *' to prune at a quiet hour.
         */
        pruneSchedule: cronField.default('*/10 * * * *'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        /** auto = readable on a TTY, JSON otherwise. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        /**
         * Per-account series (account_id label): "all", "none" (aggregates only), or a number N to
         * export only the N lowest account ids. Large installations should use "none" or a cap.
         */
        perAccountSeries: z.union([z.enum(['all', 'none']), z.number().int().min(1)]).default('all'),
        /** Also export Node.js runtime metrics (process_*, nodejs_*). */
        runtime: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        /**
         * PEM file of extra CA certificates trusted, besides the system CAs, by probes whose target
         * carries no CA of its own (an internal CA). Read once at start-up; null trusts the system CAs.
         */
        extraCaFile: z.string().min(1).nullable().default(null),
      })
      .strict()
      .prefault({}),
    probes: z
      .object({
        /**
         * When set, every SMTP check also sends a short, clearly marked test message from the
         * account's address to this recipient (like SuperOffice's TestSmtpServer). Off by default.
         */
        testSendTo: z.email('must be an e-mail address').nullable().default(null),
        imap: z
          .object({
            /**
             * "full": connect, login, EXAMINE the mailbox, logout (imapflow). "login": TLS + LOGIN +
             * LOGOUT only, a lean exchange for large fleets (about half the round trips and client
             * CPU; the mailbox is not opened). Same failure codes; OAuth2 accounts use "full".
             */
            mode: z.enum(['full', 'login']).default('full'),
          })
          .strict()
          .prefault({}),
        /**
         * Quota usage (percent) from which an IMAP check's reason says the mailbox is nearly full;
         * the status stays Ok. At 100 % the check fails with quota_exceeded.
         */
        quotaWarningPercent: z.number().min(1).max(100).default(90),
      })
      .strict()
      .prefault({}),
    /** The delivery round trip (see the README's "Delivery round trip"). */
    delivery: z
      .object({
        /**
         * Checks besides those of opted-in accounts (DeliveryCheck) that also get a delivery round
         * trip, picked at random: per check interval and replica in the daemon's claim loop, per run
         * in `check --all`. 0 = opted-in accounts only.
         */
        samplePerSweep: z.number().int().min(0).max(LIMITS.maxConcurrency).default(0),
        /** How long a check waits for its probe message before calling it pending. */
        waitSeconds: z.number().min(0).max(LIMITS.maxCheckTimeoutSeconds).default(20),
        /** A probe message not seen this long after it was sent is lost (failure delivery_lost). */
        lostAfterSeconds: z.number().int().min(1).default(1800),
      })
      .strict()
      .prefault({}),
    /** Where probes may connect; see the README's "Egress policy". */
    egress: egressConfigSchema,
    shutdown: z
      .object({
        /** On SIGTERM, wait this long for in-flight checks before giving up on them. */
        drainTimeoutSeconds: z.number().min(0).default(45),
      })
      .strict()
      .prefault({}),
    console: z
      .object({
        /** Serve the ops console at /ui/ on the HTTP listener. */
        enabled: z.boolean().default(true),
        /** A console login lasts this long (sessions also end when the daemon restarts). */
        sessionHours: z.number().min(0.01).max(720).default(12),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
