// The console's script and stylesheet, read once at start-up from ./public (copied next to the
// compiled code by `npm run build`) and served by the daemon itself: no CDN, nothing else on disk
// is reachable through this route.
import { readFile } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';

const FILES = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;

export type Assets = ReadonlyMap<string, { body: string; type: string }>;

export async function loadAssets(): Promise<Assets> {
  const dir = new URL('./public/', import.meta.url);
  const entries = await Promise.all(
    Object.entries(FILES).map(
      async ([name, type]) => [name, { body: await readFile(new URL(name, dir), 'utf8'), type }] as const,
    ),
  );
  return new Map(entries);
}

export function serveAsset(assets: Assets, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const asset = assets.get((request.params as { name?: string }).name ?? '');
  if (asset === undefined) throw new ApiError(404, 'no such asset');
  return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
}
