// A throw-away PKI for the benchmark's servers: one CA and one leaf for 127.0.0.1 (ECDSA P-256,
// so TLS costs what a modern server costs). Clients trust the CA alone.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface BenchCerts {
  caPath: string;
  caPem: string;
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

export async function makeCerts(dir: string): Promise<BenchCerts> {
  const p = (name: string): string => join(dir, name);
  writeFileSync(
    p('ca.cnf'),
    '[req]\ndistinguished_name=dn\nprompt=no\nx509_extensions=ext\n[dn]\nCN=mailmon bench CA\n' +
      '[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
  );
  await run('openssl', ['req', '-x509', ...KEY, '-days', '30', '-config', p('ca.cnf'),
    '-keyout', p('ca.key'), '-out', p('ca.pem')]); // prettier-ignore
  writeFileSync(p('leaf.cnf'), '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=127.0.0.1\n');
  writeFileSync(
    p('leaf.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' +
      'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  await run('openssl', ['req', '-new', ...KEY, '-config', p('leaf.cnf'),
    '-keyout', p('server.key'), '-out', p('server.csr')]); // prettier-ignore
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
    '-CAcreateserial', '-days', '30', '-extfile', p('leaf.ext'), '-out', p('server.pem')]); // prettier-ignore
  return {
    caPath: p('ca.pem'),
    caPem: readFileSync(p('ca.pem'), 'utf8'),
    certPath: p('server.pem'),
    keyPath: p('server.key'),
    certPem: readFileSync(p('server.pem'), 'utf8'),
    keyPem: readFileSync(p('server.key'), 'utf8'),
  };
}
