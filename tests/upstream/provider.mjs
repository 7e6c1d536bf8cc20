// node-oidc-provider as an upstream identity provider for federated sign-in tests.
//
// usage: node provider.mjs CONFIG.json   (prints "ready" once listening)
// CONFIG.json: {"host", "port", "client_id", "client_secret", "redirect_uris"}
//
// Its built-in development pages (devInteractions) ask for a login and a consent. Any login name
// signs in as that account, except:
//   deny      the authorization is answered with error=access_denied
//   mfa-...   the ID token says amr ["pwd", "mfa"] instead of ["pwd"]
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as querystring from 'node:querystring';
import { text } from 'node:stream/consumers';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// `issuer`: its public https URL, when a TLS-terminating proxy is in front (X-Forwarded-Proto).
const issuer = config.issuer ?? `http://${config.host}:${config.port}`;

const NAMES = { alice: 'Alice Liddell', bob: 'Bob Marley', carol: 'Carol Danvers' };

function displayName(accountId) {
  const base = accountId.replace(/^mfa-/, '');
  return NAMES[base] ?? base.split(/[-_.]+/).filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1)).join(' ');
}

function amrFor(accountId) {
  return accountId.startsWith('mfa-') ? ['pwd', 'mfa'] : ['pwd'];
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'upstream-1' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: config.redirect_uris,
    scope: 'openid profile email',
    id_token_signed_response_alg: 'RS256',
  }],
  scopes: ['openid', 'profile', 'email'],
  // `amr` rides with the openid scope so that every ID token carries it; the profile and email
  // claims go into the ID token too (conformIdTokenClaims off), as many upstreams do.
  claims: { openid: ['sub', 'amr'], profile: ['name'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false,
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  ttl: { AuthorizationCode: 60, IdToken: 3600, Interaction: 1800, Session: 8 * 3600,
    Grant: 8 * 3600 },
  features: { devInteractions: { enabled: true } },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id, name: displayName(id), email: `${id}@upstream.example`, email_verified: true,
    }),
  }),
});

// The login form of devInteractions posts {prompt: "login", login, password} to /interaction/:uid,
// and its own handler finishes the login without amr. This one, in front of it, finishes the login
// with amr (the session keeps it, the authorization code and ID token take it from there), or
// aborts it for the login name `deny`. Consent submissions go on to devInteractions.
provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path)) {
    await next();
    return;
  }
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    await next();
    return;
  }
  if (details.prompt.name !== 'login') {
    await next();
    return;
  }
  const body = querystring.parse(await text(ctx.req));
  const login = String(body.login ?? '');
  const result = login === 'deny' || !login
    ? { error: 'access_denied', error_description: 'the person declined to sign in' }
    : { login: { accountId: login, amr: amrFor(login) } };
  const location = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(location);
});

if (config.issuer) provider.proxy = true;
provider.listen(config.port, config.host, () => console.log(`ready ${issuer}`));
