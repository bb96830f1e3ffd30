// A third-party, OpenID Certified provider (panva/oidc-provider) on loopback, for the
// discovery-based sign-in test (tests/test_oidc_provider.py).
//
// Usage: REDIRECT_URI=http://127.0.0.1:<port>/callback [PROFILE=quirks] node server.js
// Listens on 127.0.0.1 on a free port and prints one JSON line to stdout:
//   {"issuer": "http://127.0.0.1:<port>", "client_id": "okta-magic-native", ...}
// It uses the provider's built-in development interactions (a login form that accepts
// any login, then a consent form), driven by the test's HTTP browser stand-in.
// Stops when stdin closes, so a dying test never leaves it running.
//
// PROFILE=quirks is what other real providers do differently from Okta's org AS:
// - the issuer has a path (as Keycloak's http://host/realms/<realm>), so discovery is at
//   <issuer>/.well-known/openid-configuration (OIDC Discovery §4.1);
// - token responses leave out `scope` (RFC 6749 §5.1: then it is the requested scope),
//   write token_type in lower case ("bearer", §5.1 says case-insensitive) and carry
//   extra members (Keycloak's not-before-policy, session_state);
// - a confidential client authenticates with client_secret_basic and a secret with
//   characters that must be form-urlencoded before base64 (RFC 6749 §2.3.1);
// - the device authorization grant (RFC 8628) for both clients (the confidential one authenticates);
// - DPoP (RFC 9449): a public client whose tokens must be DPoP-bound; without a proof its token
//   request fails with invalid_grant "DPoP proof JWT not provided" (this provider's wording).
// Access tokens are opaque in both profiles (the provider's default without resource indicators).

import http from 'node:http';
import Provider from 'oidc-provider';

const redirectUri = process.env.REDIRECT_URI;
if (!redirectUri) {
  console.error('REDIRECT_URI is required');
  process.exit(2);
}
const quirks = process.env.PROFILE === 'quirks';
const mountPath = quirks ? '/realms/demo' : '';
// printable ASCII only (RFC 6749 Appendix A VSCHAR), with every character that form-urlencoding changes
const webSecret = 'a:b%25c+d e/f?g&h=i~j!k';

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}${mountPath}`;
  const nativeGrants = ['authorization_code', 'refresh_token'];
  if (quirks) nativeGrants.push('urn:ietf:params:oauth:grant-type:device_code');
  const clients = [{
    client_id: 'okta-magic-native',
    application_type: 'native',
    token_endpoint_auth_method: 'none', // public client: PKCE is required for it (the provider's default)
    grant_types: nativeGrants,
    response_types: ['code'],
    redirect_uris: [redirectUri],
  }];
  if (quirks) {
    clients.push({
      client_id: 'okta-magic-web',
      client_secret: webSecret,
      application_type: 'native', // loopback redirect URI
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
    });
    clients.push({
      client_id: 'okta-magic-dpop',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      dpop_bound_access_tokens: true,
    });
  }
  const provider = new Provider(issuer, {
    clients,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      deviceFlow: { enabled: quirks },
      dPoP: { enabled: quirks },
    },
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return { sub: id, name: `Test ${id}`, email: `${id}@example.test` }; } };
    },
  });
  if (quirks) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/token' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
        delete ctx.body.scope;
        ctx.body.token_type = String(ctx.body.token_type).toLowerCase();
        ctx.body['not-before-policy'] = 0;
        ctx.body.session_state = 'extra-member';
      }
    });
  }
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (mountPath) {
      // mount under the issuer's path as a framework would (the provider reads originalUrl)
      if (!req.url.startsWith(mountPath)) {
        res.statusCode = 404;
        res.end();
        return;
      }
      req.originalUrl = req.url;
      req.url = req.url.slice(mountPath.length) || '/';
    }
    callback(req, res);
  });
  process.stdout.write(JSON.stringify({
    issuer,
    client_id: 'okta-magic-native',
    ...(quirks ? { web_client_id: 'okta-magic-web', web_client_secret: webSecret, dpop_client_id: 'okta-magic-dpop' } : {}),
  }) + '\n');
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
