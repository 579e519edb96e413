// A throwaway PKI made with openssl in a temp dir (synchronously, so every suite's hooks find the
// files): a CA and a foreign CA, RSA server certificates for localhost/127.0.0.1, client
// certificates (CN client-a, a SPIFFE URI SAN, one from the foreign CA, one long expired).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SPIFFE = 'spiffe://infergate.test/ns/prod/sa/batch';
const CNF = [
  '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = placeholder',
  '[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign',
  '[server]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost',
  '[client]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth',
  `[client_spiffe]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\nsubjectAltName = URI:${SPIFFE}`,
  // For `openssl ca`, the one way openssl 3.0 sets explicit validity dates.
  '[ca]\ndefault_ca = ca_default\n[ca_default]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial',
  'default_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n',
].join('\n');

const EC = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';

export interface Pki {
  dir: string;
  /** The path of a file in the PKI folder (ca.crt, server1.key, client.crt…). */
  p(name: string): string;
  pem(name: string): Buffer;
}

/** Builds the PKI in a new temp folder. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'ig-pki-'));
  const p = (name: string) => join(dir, name);
  const ossl = (cmd: string) => execFileSync('openssl', cmd.split(' '), { cwd: dir, stdio: 'pipe' });
  let serial = 10;
  const leaf = (name: string, cn: string, ext: string, ca = 'ca', key = EC) => {
    ossl(`req -new -config cnf ${key} -keyout ${name}.key -subj /CN=${cn} -out ${name}.csr`);
    ossl(
      `x509 -req -in ${name}.csr -CA ${ca}.crt -CAkey ${ca}.key -set_serial ${serial++} -days 2 -extfile cnf -extensions ${ext} -out ${name}.crt`,
    );
  };
  writeFileSync(p('cnf'), CNF);
  writeFileSync(p('index.txt'), '');
  writeFileSync(p('serial'), '01\n');
  for (const ca of ['ca', 'foreign-ca']) {
    ossl(`req -x509 -config cnf -extensions v3_ca ${EC} -keyout ${ca}.key -subj /CN=${ca} -days 2 -out ${ca}.crt`);
  }
  // RSA server keys, so that the RSA key-exchange and ECDHE-RSA suites are real options to refuse.
  leaf('server1', 'localhost', 'server', 'ca', '-newkey rsa:2048 -nodes');
  leaf('server2', 'localhost', 'server', 'ca', '-newkey rsa:2048 -nodes');
  leaf('client', 'client-a', 'client');
  leaf('spiffe', 'ignored-cn', 'client_spiffe');
  leaf('foreign', 'client-a', 'client', 'foreign-ca'); // the same CN from another CA
  // openssl 3.0 has no x509 -not_after; `openssl ca` takes explicit dates for a cert expired long ago.
  ossl(`req -new -config cnf ${EC} -keyout expired.key -subj /CN=client-a -out expired.csr`);
  const dates = '-startdate 20200101000000Z -enddate 20200102000000Z';
  ossl(
    `ca -batch -config cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt -extensions client ${dates} -notext`,
  );
  return { dir, p, pem: (name) => readFileSync(p(name)) };
}
