// The baseline for bench/serve.mjs: the same framework (fastify, same body
// limit, no logger) with a POST /invocations that parses the JSON body and
// answers a constant — what serving costs before any model work.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 5 * 1024 * 1024 });
const answer = { predictions: ['setosa'] };
app.post('/invocations', async () => answer);
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stderr.write(`serving bare on ${url} \n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
