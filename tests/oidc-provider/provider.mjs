// A real OpenID Connect provider (panva's oidc-provider) for the admin console's sign-in
// tests. Loopback only, plain http, in-memory state, development interactions (its
// built-in login and consent forms). Never deploy this: any login name signs in.
//
//   node provider.mjs [--port N] [--issuer URL] [--client-id ID] [--client-secret SECRET]
//                     [--redirect-uri URL] [--ignore-stdin]
//
// Each option may instead come from the environment: OIDC_PORT, OIDC_ISSUER,
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI (an argument wins).
// Defaults: port 0 (the system picks a free one), issuer http://127.0.0.1:PORT,
// client "ferretwatch-console" with secret "ferretwatch-console-secret", redirect
// http://127.0.0.1:9/console/oidc/callback (nothing listens there: the tests stop at the
// redirect and never follow it).
//
// When ready it prints exactly one line to stdout, `listening http://127.0.0.1:PORT`
// (the issuer), and nothing else goes to stdout. It exits on SIGTERM or SIGINT and when
// its standard input closes (so a test that dies takes it along), unless --ignore-stdin
// is given (for running it in the background from a shell).
//
// The dev login form accepts any login name and any password; the account id is the
// login name, and its claims are sub = id, email = `${id}@example.test`,
// email_verified = true. ID tokens are signed with EdDSA (Ed25519) under a key made
// anew at each start; the JWKS at /jwks publishes only that key.

import { createServer } from 'node:http';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    'ignore-stdin': { type: 'boolean', default: false },
  },
  strict: true,
});

const env = process.env;
const portText = args.port ?? env.OIDC_PORT ?? '0';
const port = Number(portText);
if (!/^[0-9]+$/.test(portText) || port > 65535) {
  console.error(`provider.mjs: bad port ${JSON.stringify(portText)}`);
  process.exit(2);
}
const clientId = args['client-id'] ?? env.OIDC_CLIENT_ID ?? 'ferretwatch-console';
const clientSecret = args['client-secret'] ?? env.OIDC_CLIENT_SECRET ?? 'ferretwatch-console-secret';
const redirectUri = args['redirect-uri'] ?? env.OIDC_REDIRECT_URI ?? 'http://127.0.0.1:9/console/oidc/callback';

// An Ed25519 signing key for this run, its kid the RFC 7638 thumbprint.
function signingKey() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  const kid = createHash('sha256').update(canonical).digest('base64url');
  return { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
}

function configuration() {
  return {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'EdDSA',
    }],
    jwks: { keys: [signingKey()] },
    enabledJWA: { idTokenSigningAlgValues: ['EdDSA'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
    },
    // The console reads the e-mail from the ID token, not from the userinfo endpoint.
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.test`, email_verified: true };
        },
      };
    },
    pkce: { methods: ['S256'], required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: {
      keys: ['ferretwatch-test-provider-cookie-key'],
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
  };
}

const server = createServer();
server.on('error', (error) => {
  console.error(`provider.mjs: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const issuer = args.issuer ?? env.OIDC_ISSUER ?? `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());
  // Errors the provider answers with (invalid_grant for a replayed code, …) go to stderr.
  provider.on('server_error', (ctx, error) => console.error(`provider.mjs: server_error ${error.message}`));
  provider.on('grant.error', (ctx, error) => console.error(`provider.mjs: grant.error ${error.message}`));
  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!args['ignore-stdin']) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
