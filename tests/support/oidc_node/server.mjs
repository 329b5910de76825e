// panva's oidc-provider as a real OpenID Connect provider for medsign's browser tests.
// Usage: node server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_PREFIX
// Its own development login form ("login", "password", "Sign-in", "[ Cancel ]") logs in
// any account below by its login name; the password is not checked.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectPrefix] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  maria: { name: 'Иванова Мария Петровна', birthdate: '1990-04-12', snils: '112-233-445 95' },
  ivan: { name: 'Петров Иван Сергеевич', birthdate: '1985-01-30', snils: '998-877-665 44' },
  // a cabinet login: the provider vouches for a verified email (OIDC Core §5.1)
  anna: { name: 'Анна Смирнова', email: 'anna@example.org', email_verified: true },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [`${redirectPrefix}placeholder`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  scopes: ['openid', 'profile', 'snils', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'birthdate'],
    snils: ['snils'],
    email: ['email', 'email_verified'],
  },
  cookies: { keys: ['medsign-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
});

// medsign gives each provider its own redirect URI, known only after registration
// (oidc-provider's recipe for redirect URI wildcards, limited to one prefix here).
const { redirectUriAllowed } = provider.Client.prototype;
provider.Client.prototype.redirectUriAllowed = function allowed(uri) {
  return uri.startsWith(redirectPrefix) || redirectUriAllowed.call(this, uri);
};

provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
