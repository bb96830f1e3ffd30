// A third-party, OpenID Certified provider (panva/oidc-provider) on loopback, for the
// discovery-based sign-in test (tests/test_oidc_provider.py).
//
// Usage: REDIRECT_URI=http://127.0.0.1:<port>/callback node server.js
// Listens on 127.0.0.1 on a free port and prints one JSON line to stdout:
//   {"issuer": "http://127.0.0.1:<port>", "client_id": "okta-magic-native"}
// It uses the provider's built-in development interactions (a login form that accepts
// any login, then a consent form), driven by the test's HTTP browser stand-in.
// Stops when stdin closes, so a dying test never leaves it running.

import http from 'node:http';
import Provider from 'oidc-provider';

const redirectUri = process.env.REDIRECT_URI;
if (!redirectUri) {
  console.error('REDIRECT_URI is required');
  process.exit(2);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'okta-magic-native',
      application_type: 'native',
      token_endpoint_auth_method: 'none', // public client: PKCE is required for it (the provider's default)
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
    }],
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return { sub: id, name: `Test ${id}`, email: `${id}@example.test` }; } };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ issuer, client_id: 'okta-magic-native' }) + '\n');
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
