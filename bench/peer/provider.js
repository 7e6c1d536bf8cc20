// node-oidc-provider configured like the Gatehouse the benchmarks start: one confidential client
// with client_credentials and RS256 JWT access tokens for https://api.example/ (RFC 9068 via
// resource indicators), and one code-flow client for interactive sign-ins (devInteractions).
//
// usage: node --expose-gc provider.js PORT [WORKERS]   (prints "ready" once listening)
import * as cluster from 'node:cluster';
import * as crypto from 'node:crypto';

import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number(process.argv[2]);
const workers = Number(process.argv[3] || 1);
const issuer = `http://127.0.0.1:${port}`;

const SERVICE_SECRET = 'test-service-secret-0123456789abcdefghijkl';
const CONFIDENTIAL_SECRET = 'test-confidential-secret-0123456789abcdef';
const API = 'https://api.example/';

// The bundled in-memory adapter, without its 1,000-entry cap: like Gatehouse's store, it keeps
// every session and journey until it expires, so that memory per 10,000 means something.
const storage = new LRU({ maxSize: Infinity });

function configuration(jwk, cookieKey) {
  return {
    adapter: (name) => new MemoryAdapter(name, storage),
    clients: [
      {
        client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'],
        response_types: [], redirect_uris: [], scope: 'api:read api:write',
      },
      {
        client_id: 'demo-rp', client_secret: CONFIDENTIAL_SECRET,
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://rp.example/callback'],
      },
    ],
    scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    jwks: { keys: [jwk] },
    cookies: { keys: [cookieKey] },
    // Gatehouse's lifetimes: access token 10 min, code 1 min, session 8 h, journey 30 min.
    ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, Session: 8 * 3600,
      Interaction: 1800, Grant: 8 * 3600, IdToken: 3600 },
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => API,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (resource !== API) throw new Provider.errors.InvalidTarget();
          return { scope: 'api:read api:write', audience: API, accessTokenTTL: 600,
            accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    clientBasedCORS: () => false,
    findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  };
}

function serve(jwk, cookieKey) {
  const provider = new Provider(issuer, configuration(jwk, cookieKey));
  provider.listen(port, '127.0.0.1', () => {
    if (!cluster.default.isWorker) console.log('ready');
    else process.send('ready');
  });
}

// `kill -USR2`: a full garbage collection (node runs with --expose-gc), then the bytes of live
// JavaScript objects on a line of their own.
process.on('SIGUSR2', () => {
  globalThis.gc();
  console.log(`heap ${process.memoryUsage().heapUsed}`);
});

if (cluster.default.isWorker) {
  serve(JSON.parse(process.env.PEER_JWK), process.env.PEER_COOKIE_KEY);
} else {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'peer-1' };
  const cookieKey = crypto.randomBytes(32).toString('base64url');
  if (workers === 1) {
    serve(jwk, cookieKey);
  } else {
    let ready = 0;
    for (let i = 0; i < workers; i += 1) {
      cluster.default.fork({ PEER_JWK: JSON.stringify(jwk), PEER_COOKIE_KEY: cookieKey })
        .on('message', () => { ready += 1; if (ready === workers) console.log('ready'); });
    }
  }
}
