// A minimal Node back end (node:http, no framework) for shops whose server is Node: the browser
// shows a total computed by the billcalc wasm engine; before taking money, this back end prices
// the same cart again with the same engine (the npm package, built into pkg/ by
// scripts/build-pkg.sh) and accepts the client's numbers only if they match to the cent.
//
//   node examples/node-verify/server.mjs        (PORT=0 picks a free port; CATALOG=path.json)
//
//   POST /verify  {"cart": {...}, "client_quote": {"total": 12345, ...}}
//     200 {"accepted": true, "as_of", "quote"}                       every field sent matches
//     409 {"accepted": false, "differences": [{path, expected, actual}], "quote"}
//     400 {"error": {"code", "path", "message"}}                     the engine's structured error
//
// The catalog is the back end's (CATALOG: a catalog JSON file, or a billcalc-server config with
// a "catalog" field; default server/config/demo.json); clients send catalog ids, never prices.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

// In a shop: import { Calculator, BillcalcError } from "billcalc";
const { Calculator, BillcalcError } = await import(
  process.env.BILLCALC_MODULE ?? new URL('../../pkg/node/index.mjs', import.meta.url).href
);

const catalogFile = process.env.CATALOG ?? new URL('../../server/config/demo.json', import.meta.url).pathname;
const loaded = JSON.parse(readFileSync(catalogFile, 'utf8'));
const calculator = new Calculator(loaded.catalog ?? loaded); // validates once; throws BillcalcError
const MAX_BODY = 64 * 1024;
const AS_OF_TOLERANCE_MS = 300_000;

/** Fields of the client's result that differ from ours (only the fields the client sent). */
export function differences(client, server, path = '', out = []) {
  if (client && server && typeof client === 'object' && typeof server === 'object'
      && Array.isArray(client) === Array.isArray(server)) {
    if (Array.isArray(client)) {
      if (client.length !== server.length) out.push({ path: `${path}.length`, expected: server.length, actual: client.length });
      client.slice(0, server.length).forEach((v, i) => differences(v, server[i], `${path}[${i}]`, out));
    } else {
      for (const [k, v] of Object.entries(client)) {
        const child = path ? `${path}.${k}` : k;
        if (k in server) differences(v, server[k], child, out);
        else out.push({ path: child, expected: null, actual: v });
      }
    }
  } else if (JSON.stringify(client) !== JSON.stringify(server)) {
    out.push({ path, expected: server ?? null, actual: client ?? null });
  }
  return out;
}

const error = (code, path, message) => ({ error: { code, path, message } });

function verify(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return [400, error('invalid_type', '', 'the body must be a JSON object')];
  const { cart, client_quote: client } = body;
  if (!cart || typeof cart !== 'object') return [400, error('missing_field', 'cart', 'cart is required')];
  if (!client || typeof client !== 'object') return [400, error('missing_field', 'client_quote', 'client_quote is required')];
  // The back end decides prices, taxes and time: refuse what a client must not choose.
  for (const field of ['catalog', 'tax', 'rounding', 'default_tax_rates']) {
    if (field in cart) return [400, error('invalid_request', `cart.${field}`, `${field} is not accepted: the back end prices from its own catalog`)];
  }
  for (const [i, line] of (Array.isArray(cart.lines) ? cart.lines : []).entries()) {
    if (line && typeof line.price === 'object') return [400, error('invalid_request', `cart.lines[${i}].price`, 'inline prices are not accepted')];
    for (const field of ['tax_rates', 'tax_category', 'discountable']) {
      if (line && field in line) return [400, error('invalid_request', `cart.lines[${i}].${field}`, `${field} is not accepted`)];
    }
  }
  const now = Date.now();
  if (cart.as_of === undefined) {
    cart.as_of = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  } else if (typeof cart.as_of !== 'string' || !(Math.abs(Date.parse(cart.as_of) - now) <= AS_OF_TOLERANCE_MS)) {
    return [400, error('invalid_request', 'cart.as_of', 'as_of must be within 300 s of the server clock')];
  }
  let quote;
  try {
    quote = calculator.quote(cart);
  } catch (e) {
    if (e instanceof BillcalcError) return [400, error(e.code, e.path ? `cart.${e.path}` : 'cart', e.message)];
    throw e;
  }
  const diff = differences(client, quote);
  return diff.length === 0
    ? [200, { accepted: true, as_of: cart.as_of, quote }]
    : [409, { accepted: false, differences: diff, as_of: cart.as_of, quote }];
}

const server = createServer((req, res) => {
  const send = (status, value) => {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.url !== '/verify') return send(404, error('not_found', '', 'no such endpoint'));
  if (req.method !== 'POST') return send(405, error('method_not_allowed', '', 'POST only'));
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      send(413, error('body_too_large', '', `the body is limited to ${MAX_BODY} bytes`));
      req.destroy();
    } else chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.headersSent) return;
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, error('invalid_json', '', 'the body is not valid JSON'));
    }
    const [status, value] = verify(body);
    send(status, value);
  });
});

server.listen(Number.parseInt(process.env.PORT ?? '8090', 10), '127.0.0.1', () => {
  console.log(`node-verify listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
