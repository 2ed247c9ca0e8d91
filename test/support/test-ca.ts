import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A certificate authority made at test time with openssl, and one server certificate it signs
 * for 127.0.0.1 / localhost: nothing secret is committed, and every run has keys of its own that
 * die with its temporary folder. Valid for a day.
 */
export interface TestCa {
  /** The CA certificate (PEM): what clients trust. */
  caFile: string;
  caPem: string;
  /** The server's certificate (PEM) and unencrypted private key (PEM), for redis-server. */
  certFile: string;
  keyFile: string;
  /** The same key and certificate as a PKCS#12 keystore, for the Kafka broker. */
  p12File: string;
  p12Password: string;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status}): ${r.stderr}`);
}

export function makeTestCa(dir: string): TestCa {
  const p12Password = randomBytes(12).toString('hex');
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  const steps: string[][] = [
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=lead-scorer test CA',
    ],
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    ],
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '1',
      '-extfile',
      'server.ext',
    ],
    [
      'pkcs12',
      '-export',
      '-in',
      'server.pem',
      '-inkey',
      'server.key',
      '-name',
      'broker',
      '-out',
      'server.p12',
      '-passout',
      `pass:${p12Password}`,
    ],
  ];
  for (const step of steps) openssl(dir, step);
  return {
    caFile: join(dir, 'ca.pem'),
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    p12File: join(dir, 'server.p12'),
    p12Password,
  };
}
