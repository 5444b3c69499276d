// A real OpenID provider (oidc-provider) on loopback, for tests/test_oidc_e2e.py only.
//
//   node provider.mjs PORT CONFIG.json     (PORT 0: any free port; keep stdin open, it exits when stdin closes)
//
// oidc-provider 9 prints "Unsupported runtime" on Node 20 (it asks for 22); everything used here works on 20.
//
// CONFIG: {"client_id", "client_secret", "redirect_uri",
//          "accounts": {"<sub>": {"password", "active": true, "claims": {"email", "roles": [...], ...}}}}
// Accounts are re-read from CONFIG on every lookup, so a test changes roles or deactivates a user
// "at the identity provider" by rewriting the file. Prints one JSON line {"issuer": ...} once listening.
//
// Interactions are a minimal login form that checks the account's password; consent is implied for
// the one (first-party) client, as at an institutional IdP. PKCE (S256) is required.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const [port, configPath] = process.argv.slice(2);
const readConfig = () => JSON.parse(readFileSync(configPath, 'utf8'));
const { client_id, client_secret, redirect_uri } = readConfig();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test', alg: 'RS256', use: 'sig' };

function findAccount(ctx, id) {
  const account = readConfig().accounts[id];
  if (!account || account.active === false) return undefined;
  return { accountId: id, claims: async () => ({ ...account.claims, sub: id }) };
}

// A session whose account was deactivated since needs a new login: prompt=none then answers
// login_required (out of the box the provider expects a session's account to exist, and fails).
const policy = interactionPolicy.base();
policy.get('login').checks.push(new interactionPolicy.Check('account_deactivated',
  'the account was deactivated', 'login_required', (ctx) => Boolean(ctx.oidc.session.accountId && !ctx.oidc.account)));

const configuration = {
  clients: [{
    client_id, client_secret, redirect_uris: [redirect_uri],
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post', // what mozilla-django-oidc sends by default
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['test-only-cookie-key'] },
  findAccount,
  // `roles` travels with the openid scope, so the client's default scopes receive it.
  claims: { openid: ['sub', 'roles'], email: ['email'], profile: ['name', 'given_name', 'family_name'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    if (grantId) return oidc.provider.Grant.find(grantId);
    const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
};

const page = (uid, error = '') => `<!doctype html><title>Sign in</title>${error ? `<p class="error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}">
  <input name="login"><input name="password" type="password"><button type="submit">Sign in</button>
</form>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(provider, req, res) {
  const { uid, prompt } = await provider.interactionDetails(req, res);
  if (prompt.name !== 'login') throw new Error(`unexpected prompt ${prompt.name}`);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(page(uid));
    return;
  }
  const form = await readForm(req);
  const account = readConfig().accounts[form.get('login')];
  if (!account || account.active === false || account.password !== form.get('password')) {
    res.writeHead(200, { 'content-type': 'text/html' }).end(page(uid, 'Invalid login'));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } },
    { mergeWithLastSubmission: false });
}

const server = createServer();
server.listen(Number(port), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => console.error(err)); // into the test's provider.log
  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (!req.url.startsWith('/interaction/')) return handle(req, res);
    return interaction(provider, req, res).catch((err) => {
      console.error(err);
      res.writeHead(500).end(String(err));
    });
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
// The test kills us with SIGTERM; also end when our parent's stdin closes (a crashed pytest).
process.stdin.on('end', () => process.exit(0)).resume();
process.on('SIGTERM', () => process.exit(0));
