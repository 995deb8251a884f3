// A real OpenID Connect provider for the single sign-on tests: panva's oidc-provider (the certified Node.js
// implementation) with its development log-in pages, on a loopback port of its own.
//
// It prints {"event":"listening","issuer":...} on standard output, then waits for one JSON line on standard input:
// {"client_id", "client_secret", "redirect_uri", "people": {login: {"email", "email_verified", "name"}}}; it
// then serves (the client is registered with that redirect URI) and prints {"event":"ready"}. Anyone may log in
// with any name at its development pages; the claims are the ones given for that name.
import http from 'node:http';
import readline from 'node:readline';
import Provider from 'oidc-provider';

const server = http.createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ event: 'listening', issuer })}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  const first = await new Promise((resolve) => { lines.once('line', resolve); });
  const { client_id, client_secret, redirect_uri, people } = JSON.parse(first);
  const provider = new Provider(issuer, {
    clients: [{
      client_id,
      client_secret,
      redirect_uris: [redirect_uri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(ctx, id) {
      const person = people[id] || {};
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: person.email, email_verified: person.email_verified === true, name: person.name };
        },
      };
    },
    cookies: { keys: ['a cookie key for tests only'] },
    pkce: { required: () => true },
  });
  provider.on('server_error', (ctx, err) => { process.stderr.write(`server_error: ${err.stack}\n`); });
  server.on('request', provider.callback());
  lines.on('close', () => { server.close(); process.exit(0); });
  process.stdout.write(`${JSON.stringify({ event: 'ready', issuer })}\n`);
});
