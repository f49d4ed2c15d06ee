/**
 * The leak intake (DESIGN §5.6): the public revoke endpoint, GitHub's secret-scanning endpoint, and the
 * worker that handles what the public endpoint queues. Each node runs a worker; they share the queue.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app-deps.ts';
import { githubLeakRoutes } from './github-route.ts';
import { credentialRevokeRoutes } from './revoke-route.ts';

export const leakRoutes = (deps: AppDeps): FastifyPluginAsync =>
  async function leaks(app) {
    await app.register(credentialRevokeRoutes(deps));
    await app.register(githubLeakRoutes(deps));
  };
