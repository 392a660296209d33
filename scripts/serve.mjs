// Static server for the placeholder page, no dependencies: www/ at /, pkg/ at /pkg/ (build it with
// scripts/build-pkg.sh). Binds 127.0.0.1; port from PORT (default 8080).
//
//   node scripts/serve.mjs            → http://127.0.0.1:8080/
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MOUNTS = [
  ['/pkg/', join(ROOT, 'pkg')],
  ['/', join(ROOT, 'www')],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
const PORT = Number.parseInt(process.env.PORT ?? '8080', 10);
const HOST = '127.0.0.1';

/** The file a URL path maps to, or null when it is outside every mount. */
function filePath(urlPath) {
  for (const [prefix, dir] of MOUNTS) {
    if (!urlPath.startsWith(prefix)) continue;
    const file = normalize(join(dir, urlPath.slice(prefix.length)));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`${res.statusCode} ${req.method} ${req.url} ${ms.toFixed(1)}ms`);
  });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  let urlPath;
  try {
    urlPath = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  } catch {
    return send(res, 400, 'bad request\n');
  }
  if (urlPath.includes('\0')) return send(res, 400, 'bad request\n');
  let file = filePath(urlPath);
  if (!file) return send(res, 404, 'not found\n');
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      if (!urlPath.endsWith('/')) {
        res.writeHead(301, { location: `${urlPath}/` });
        return res.end();
      }
      file = join(file, 'index.html');
      info = await stat(file);
    }
    if (!info.isFile()) return send(res, 404, 'not found\n');
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  } catch (e) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      const hint = urlPath.startsWith('/pkg/') ? ' (is pkg/ built? run scripts/build-pkg.sh)' : '';
      return send(res, 404, `not found${hint}\n`);
    }
    send(res, 500, 'internal error\n');
  }
});

server.listen(PORT, HOST, () => {
  console.log(`serving www/ at http://${HOST}:${server.address().port}/ and pkg/ at /pkg/`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
