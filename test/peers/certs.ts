// Test PKI made with the openssl CLI: a CA, a good leaf for 127.0.0.1/::1/localhost, and the three
// classic ways a server certificate fails verification (expired, wrong name, self-signed).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { currentRunScope } from './run-scope.js';

const run = promisify(execFile);

export type CertKind = 'valid' | 'expired' | 'wrongname' | 'selfsigned';

export interface CertPair {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

export interface TestCerts {
  dir: string;
  /** The test CA; give `caPem` to clients as their only trust anchor. */
  ca: CertPair;
  caPem: string;
  valid: CertPair;
  /** Signed by the CA, valid names, notAfter in 2021. Node: CERT_HAS_EXPIRED. */
  expired: CertPair;
  /** Signed by the CA, only DNS:wrong.example. Node: ERR_TLS_CERT_ALTNAME_INVALID. */
  wrongname: CertPair;
  /** Valid names, signs itself. Node: DEPTH_ZERO_SELF_SIGNED_CERT. */
  selfsigned: CertPair;
}

const GOOD_SAN = 'IP:127.0.0.1,IP:::1,DNS:localhost';

// ECDSA P-256: key generation is near-instant, unlike RSA.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function reqConfig(cn: string, extensions: string): string {
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    'x509_extensions = ext',
    'req_extensions = ext',
    '[dn]',
    `CN = ${cn}`,
    '[ext]',
    extensions,
    '',
  ].join('\n');
}

// `openssl ca` is the one openssl 3.0 command that takes an explicit notBefore/notAfter, which is
// how the expired leaf is made without faking the clock.
function caConfig(dir: string): string {
  return [
    '[ca]',
    'default_ca = test_ca',
    '[test_ca]',
    `database = ${dir}/index.txt`,
    `new_certs_dir = ${dir}/issued`,
    `serial = ${dir}/serial`,
    'default_md = sha256',
    'default_days = 3650',
    'policy = any',
    'copy_extensions = copy',
    'unique_subject = no',
    'email_in_dn = no',
    '[any]',
    'commonName = supplied',
    '',
  ].join('\n');
}

function pair(dir: string, name: string): CertPair {
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  return {
    certPath,
    keyPath,
    certPem: readFileSync(certPath, 'utf8'),
    keyPem: readFileSync(keyPath, 'utf8'),
  };
}

async function selfSigned(dir: string, name: string, cn: string, extensions: string): Promise<void> {
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(cnf, reqConfig(cn, extensions));
  await run('openssl', [
    'req', '-x509', ...KEY_ARGS, '-days', '3650', '-config', cnf,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`),
  ]); // prettier-ignore
}

interface LeafSpec {
  name: string;
  san: string;
  /** YYYYMMDDHHMMSSZ; omitted = now .. now + 10 years. */
  startdate?: string;
  enddate?: string;
}

/** Now + offsetMs as openssl's YYYYMMDDHHMMSSZ. */
function asn1Time(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

async function caSigned(dir: string, spec: LeafSpec): Promise<void> {
  const cnf = join(dir, `${spec.name}.cnf`);
  const csr = join(dir, `${spec.name}.csr`);
  const leafExt = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${spec.san}`,
  ].join('\n');
  writeFileSync(cnf, reqConfig(`mailmon test ${spec.name}`, leafExt));
  await run('openssl', [
    'req',
    '-new',
    ...KEY_ARGS,
    '-config',
    cnf,
    '-keyout',
    join(dir, `${spec.name}.key`),
    '-out',
    csr,
  ]);
  // Backdated a day so a verifier whose clock is slightly behind still accepts the good leaf.
  const dates = [
    '-startdate',
    spec.startdate ?? asn1Time(-86_400_000),
    '-enddate',
    spec.enddate ?? asn1Time(3650 * 86_400_000),
  ];
  await run('openssl', [
    'ca', '-batch', '-notext', '-config', join(dir, 'ca-sign.cnf'),
    '-cert', join(dir, 'ca.pem'), '-keyfile', join(dir, 'ca.key'),
    '-in', csr, '-out', join(dir, `${spec.name}.pem`), ...dates,
  ]); // prettier-ignore
}

/** Generate a fresh set of test certificates in `dir` (which must exist and be empty). */
export async function generateTestCerts(dir: string): Promise<TestCerts> {
  mkdirSync(join(dir, 'issued'));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca-sign.cnf'), caConfig(dir));
  await selfSigned(
    dir,
    'ca',
    'mailmon test CA',
    'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash',
  );
  // Sequential: `openssl ca` rewrites index.txt and serial.
  await caSigned(dir, { name: 'valid', san: GOOD_SAN });
  await caSigned(dir, {
    name: 'expired',
    san: GOOD_SAN,
    startdate: '20200101000000Z',
    enddate: '20210101000000Z',
  });
  await caSigned(dir, { name: 'wrongname', san: 'DNS:wrong.example' });
  await selfSigned(
    dir,
    'selfsigned',
    'mailmon test selfsigned',
    `basicConstraints = critical, CA:FALSE\nsubjectAltName = ${GOOD_SAN}`,
  );
  return readTestCerts(dir);
}

/** Load a set made by generateTestCerts. */
export function readTestCerts(dir: string): TestCerts {
  const ca = pair(dir, 'ca');
  return {
    dir,
    ca,
    caPem: ca.certPem,
    valid: pair(dir, 'valid'),
    expired: pair(dir, 'expired'),
    wrongname: pair(dir, 'wrongname'),
    selfsigned: pair(dir, 'selfsigned'),
  };
}

/** Where the global setup puts the run's certificate set. */
export function runCertDir(runDir: string): string {
  return join(runDir, 'certs');
}

/**
 * The test certificates: the set the global setup made once for the whole run (removed in its
 * teardown), or else one generated (about 150 ms) into a temp dir removed at process exit.
 * One in-flight promise per process so concurrent callers share it; this memo of immutable files is
 * the only module state in the peers.
 */
export const testCerts: () => Promise<TestCerts> = (() => {
  let pending: Promise<TestCerts> | undefined;
  return () => {
    if (!pending) {
      const scope = currentRunScope();
      if (scope) {
        pending = Promise.resolve(readTestCerts(runCertDir(scope.dir)));
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'mailmon-certs-'));
        process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
        pending = generateTestCerts(dir);
      }
    }
    return pending;
  };
})();

/** The cert/key pair of the given kind from the shared set. */
export async function certFor(kind: CertKind): Promise<CertPair & { caPem: string }> {
  const certs = await testCerts();
  return { ...certs[kind], caPem: certs.caPem };
}
