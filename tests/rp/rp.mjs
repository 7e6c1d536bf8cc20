// A relying party built on openid-client, driven by the Python end-to-end tests.
// Reads one JSON request on stdin: {op, issuer, client: {id, secret, auth}, ...}; writes JSON on stdout.
import * as oidc from 'openid-client'

// The client's private key (a JWK), as openid-client signs with it: RS256, or ES256 for EC keys.
async function privateKey(c) {
  const algorithm = c.privateJwk.kty === 'EC'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  return {
    key: await crypto.subtle.importKey('jwk', c.privateJwk, algorithm, false, ['sign']),
    kid: c.privateJwk.kid,
  }
}

const AUTH = {
  client_secret_basic: (c) => oidc.ClientSecretBasic(c.secret),
  client_secret_post: (c) => oidc.ClientSecretPost(c.secret),
  private_key_jwt: async (c) => oidc.PrivateKeyJwt(await privateKey(c)),
  none: () => oidc.None(),
}

async function configure({ issuer, client }) {
  const config = await oidc.discovery(
    new URL(issuer), client.id, client.metadata ?? {}, await AUTH[client.auth](client),
    { execute: [oidc.allowInsecureRequests] },
  )
  // Without this, openid-client 6 does not verify ID token signatures against the JWKS.
  oidc.enableNonRepudiationChecks(config)
  return config
}

// With `dpopJwk` (a private P-256 JWK the test keeps across calls), requests carry DPoP proofs
// made with it (RFC 9449); openid-client answers a use_dpop_nonce error by itself.
async function dpop(request, config) {
  if (!request.dpopJwk) return {}
  const { d, ...publicJwk } = request.dpopJwk
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' }
  const keyPair = {
    privateKey: await crypto.subtle.importKey('jwk', request.dpopJwk, algorithm, false, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']),
  }
  return { DPoP: oidc.getDPoPHandle(config, keyPair) }
}

async function authorization(request, build) {
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const url = await build({
    redirect_uri: request.redirectUri,
    scope: 'openid',
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...request.params,
  })
  return { url: url.href, state, nonce, verifier }
}

const operations = {
  // Build an authorization URL with state, nonce and PKCE S256; the caller keeps the secrets.
  async authorize(request, config) {
    return await authorization(request, (params) => oidc.buildAuthorizationUrl(config, params))
  },

  // The same request pushed to the PAR endpoint (RFC 9126): the URL holds client_id and request_uri.
  async authorizeWithPar(request, config) {
    const options = await dpop(request, config)
    return await authorization(request, (params) => oidc.buildAuthorizationUrlWithPAR(config, params, options))
  },

  // The same request as a request object signed with the client's key (JAR, RFC 9101), by value.
  async authorizeWithJar(request, config) {
    const key = await privateKey(request.client)
    return await authorization(request, (params) => oidc.buildAuthorizationUrlWithJAR(config, params, key))
  },

  // The signed request object, pushed (RFC 9126 §3).
  async authorizeWithJarPar(request, config) {
    const key = await privateKey(request.client)
    return await authorization(request, async (params) => oidc.buildAuthorizationUrlWithPAR(
      config, (await oidc.buildAuthorizationUrlWithJAR(config, params, key)).searchParams))
  },

  // Rotate a refresh token; openid-client checks the refreshed ID token against the original.
  async refresh(request, config) {
    const tokens = await oidc.refreshTokenGrant(config, request.refreshToken, {}, await dpop(request, config))
    return { tokens, claims: tokens.claims() }
  },

  async clientCredentials(request, config) {
    return await oidc.clientCredentialsGrant(config, request.params ?? {}, await dpop(request, config))
  },

  // RFC 8693, through openid-client's generic grant request.
  async tokenExchange(request, config) {
    return await oidc.genericGrantRequest(
      config, 'urn:ietf:params:oauth:grant-type:token-exchange', request.params, await dpop(request, config))
  },

  // RFC 8628: the codes, then polling (at the interval the server asks) until the person decides.
  async deviceAuthorization(request, config) {
    return await oidc.initiateDeviceAuthorization(config, request.params ?? {})
  },

  async devicePoll(request, config) {
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, request.response)
    return { tokens, claims: tokens.claims() }
  },

  async userinfo(request, config) {
    return await oidc.fetchUserInfo(config, request.accessToken, request.subject, await dpop(request, config))
  },

  async endSessionUrl(request, config) {
    return { url: oidc.buildEndSessionUrl(config, request.params).href }
  },

  async revoke(request, config) {
    await oidc.tokenRevocation(config, request.token, request.hint ? { token_type_hint: request.hint } : {})
    return {}
  },

  async introspect(request, config) {
    return await oidc.tokenIntrospection(config, request.token)
  },

  // Validate the authorization response, redeem the code, verify the ID token, call UserInfo.
  async callback(request, config) {
    const options = await dpop(request, config)
    const tokens = await oidc.authorizationCodeGrant(config, new URL(request.callbackUrl), {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      ...(request.nonce ? { expectedNonce: request.nonce } : {}),
      idTokenExpected: true,
      ...(request.maxAge !== undefined ? { maxAge: request.maxAge } : {}),
    }, {}, options)
    const claims = tokens.claims()
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub, options)
    return { tokens, claims, userinfo }
  },
}

let input = ''
for await (const chunk of process.stdin) input += chunk
const request = JSON.parse(input)
// RFC 7591: registering comes before there is a client to configure.
async function register(request) {
  const config = await oidc.dynamicClientRegistration(new URL(request.issuer), request.metadata, undefined, {
    execute: [oidc.allowInsecureRequests],
    ...(request.initialAccessToken ? { initialAccessToken: request.initialAccessToken } : {}),
  })
  return config.clientMetadata()
}

try {
  if (request.op === 'register') {
    process.stdout.write(JSON.stringify({ ok: await register(request) }))
    process.exit(0)
  }
  const config = await configure(request)
  process.stdout.write(JSON.stringify({ ok: await operations[request.op](request, config) }))
} catch (error) {
  process.stdout.write(JSON.stringify({
    error: {
      name: error.name, code: error.code, message: error.message, oauth: error.error,
      cause: error.cause?.message ?? (typeof error.cause === "string" ? error.cause : undefined),
    },
  }))
}
