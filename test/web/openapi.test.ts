// GET /api/openapi.json (DESIGN §4): generated from the route schemas, valid OpenAPI 3, and listing
// every /api route the app serves, so a new /api route without a schema fails here. The schemas
// must never cost an answer a field (Fastify's serializer drops what a response schema forbids).
import SwaggerParser from '@apidevtools/swagger-parser';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import { afterEach, describe, expect, it } from 'vitest';
import { leadStates, supersededJobs, taskLeases, taskRuns } from '../../server/db/schema/app.ts';
import { loadConfig } from '../../server/config.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { diagnosisJson } from '../../server/web/i18n/render-reason.ts';
import { isDocumented } from '../../server/web/openapi.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const database = useTestDatabase();
let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const TOKEN = 'vendor-import-token';
const auth = { authorization: `Bearer ${TOKEN}` };

async function openApiDocument(): Promise<OpenAPIV3.Document> {
  app = await appOver(database, { env: { API_TOKEN: TOKEN } });
  const response = await app.inject({ method: 'GET', url: '/api/openapi.json', headers: auth });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.json();
}

/** "/api/tasks/:id/process" as OpenAPI writes it: "/api/tasks/{id}/process". */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const document = await openApiDocument();
    expect(document.openapi).toMatch(/^3\./);
    // validate() dereferences in place; it checks the document against the OpenAPI 3.0 schema,
    // then every $ref, path parameter and operationId.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it('lists every /api route the app serves, each with a summary, its path parameters and described answers', async () => {
    const document = await openApiDocument();
    const apiRoutes = app!.routeRoles.filter((route) => route.url.startsWith('/api/') && route.method !== 'HEAD');
    expect(apiRoutes.map((r) => `${r.method} ${r.url}`)).toEqual(expect.arrayContaining([
      'POST /api/tasks/:id/process', 'POST /api/tasks/:id/close-leads', 'GET /api/tasks/:id/diagnose', 'GET /api/openapi.json',
    ]));
    for (const route of apiRoutes) {
      const name = `${route.method} ${route.url}`;
      const operation = document.paths[openApiPath(route.url)]?.[route.method.toLowerCase() as OpenAPIV3.HttpMethods];
      expect(operation, `${name} is missing from the document`).toBeDefined();
      expect(operation!.summary, `${name} has no summary`).toMatch(/\w/);
      const parameters = (operation!.parameters ?? []) as OpenAPIV3.ParameterObject[];
      for (const [, param] of route.url.matchAll(/:([A-Za-z0-9_]+)/g)) {
        expect(parameters, `${name} does not describe :${param}`).toContainEqual(expect.objectContaining({ in: 'path', name: param, required: true }));
      }
      // A route without a response schema gets @fastify/swagger's "200: Default Response".
      const responses = Object.entries(operation!.responses) as Array<[string, OpenAPIV3.ResponseObject]>;
      expect(responses.map(([code]) => code), `${name} does not describe 401`).toContain('401');
      for (const [code, answer] of responses) expect(answer.description, `${name} ${code}`).not.toBe('Default Response');
    }
  });

  it('documents the probes without a token and no dashboard page, /metrics or static file', async () => {
    const document = await openApiDocument();
    const paths = Object.keys(document.paths);
    expect(paths).toEqual(expect.arrayContaining(['/livez', '/readyz', '/healthz']));
    expect(paths.filter((path) => !isDocumented(path))).toEqual([]);
    for (const probe of ['/livez', '/readyz', '/healthz']) expect(document.paths[probe]!.get!.security).toEqual([]);
    expect(Object.keys(document.paths['/readyz']!.get!.responses).sort()).toEqual(['200', '503']);
    // The app does serve pages: they are left out, not missing.
    expect(app!.routeRoles.map((r) => r.url)).toEqual(expect.arrayContaining(['/', '/tasks/:id', '/metrics', '/login']));
  });

  it('states the bearer token for /api and describes the close-leads body and the shared error shape', async () => {
    const document = await openApiDocument();
    const [scheme] = Object.keys(document.security![0]!);
    expect(document.components!.securitySchemes![scheme!]).toMatchObject({ type: 'http', scheme: 'bearer' });
    const close = document.paths['/api/tasks/{id}/close-leads']!.post!;
    expect(Object.keys(close.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '503']);
    const body = (close.requestBody as OpenAPIV3.RequestBodyObject).content['application/json']!.schema as OpenAPIV3.SchemaObject;
    expect(body.required).toEqual(['cause', 'remark', 'interest']);
    expect(body.properties).toMatchObject({
      cause: { type: 'string', enum: ['cancelled', 'not-in-group', 'no-conversation'] },
      remark: { type: 'string' },
      interest: { anyOf: [{ type: 'integer', enum: [0, 1, 2] }, { type: 'string', enum: ['0', '1', '2'] }] },
      nextFollowTime: { type: 'string', nullable: true },
      leadIds: { type: 'array' },
    });
    const process = document.paths['/api/tasks/{id}/process']!.post!;
    expect(Object.keys(process.responses).sort()).toEqual(['202', '400', '401', '403', '404', '409', '503']);
    const refusal = (process.responses['409'] as OpenAPIV3.ResponseObject).content!['application/json']!.schema;
    expect(refusal).toEqual({ $ref: '#/components/schemas/ApiError' });
    expect(document.components!.schemas!.ApiError).toMatchObject({ required: ['error'], properties: { error: { type: 'string' }, reason: { type: 'string' } } });
  });

  it('needs the bearer token like the rest of /api', async () => {
    app = await appOver(database, { env: { API_TOKEN: TOKEN } });
    const response = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="autofollow"');
  });
});

describe('the route schemas', () => {
  it('keep every field of the diagnose JSON, down to the nested ones', async () => {
    const taskId = await givenTask(database.db, { name: '全字段', taskType: 2, jobGroupId: 'jg-fields' });
    const [cancelled, notInGroup, calling] = await givenLeads(database.db, taskId, [
      { phone: '13900000001', callJobId: 'job-1' }, { phone: '13900000002' }, { phone: '13900000003', callJobId: 'job-3' },
    ]);
    await database.db.insert(leadStates).values([
      { leadRowId: cancelled!, taskId, lastJobStatus: 'Cancelled' },
      { leadRowId: notInGroup!, taskId, notInGroupSince: new Date() },
      { leadRowId: calling!, taskId, lastJobStatus: 'Executing', apiErrorCode: 'Throttling' },
    ]);
    await database.db.insert(supersededJobs).values({ leadRowId: calling!, jobId: 'job-0', taskId, lastJobStatus: 'Cancelled', supersededBy: 'job-3', supersededAt: new Date() });
    await database.db.insert(taskLeases).values({
      taskId, owner: 'worker-b:1:beef', acquiredAt: sql`UTC_TIMESTAMP(3)`, renewedAt: sql`UTC_TIMESTAMP(3)`, expiresAt: sql`UTC_TIMESTAMP(3) + INTERVAL 60 SECOND`,
    });
    await database.db.insert(taskRuns).values({
      taskId, owner: 'worker-a:1:cafe', trigger: 'schedule', startedAt: new Date(Date.now() - 5000), finishedAt: new Date(), outcome: 'partial',
      stageBefore: 2, stageAfter: 2, errorCode: 'Throttling', errorMessage: 'slow down', steps: JSON.stringify([{ step: 'sync-call-job-ids', counts: { synced: 2 }, custom: { nested: true } }]),
    });

    app = await appOver(database);
    const response = await app.inject({ method: 'GET', url: `/api/tasks/${taskId}/diagnose` });
    expect(response.statusCode).toBe(200);
    const config = loadConfig({ DATABASE_URL: database.url });
    const direct = await diagnoseTask({ db: database.db, config, clock: { now: () => Date.now() } }, taskId);
    expect(direct!.blockedLeads.length).toBeGreaterThan(0);
    expect(direct!.supersededJobs.length).toBe(1);
    expect(direct!.lease).not.toBeNull();
    expect(response.json()).toEqual(JSON.parse(JSON.stringify(diagnosisJson(direct!))));
  });

  it('answer a bad task id with the same sentence on every /api route', async () => {
    app = await appOver(database);
    const long = '9'.repeat(50);
    for (const [method, url] of [['POST', 'process'], ['POST', 'close-leads'], ['GET', 'diagnose']] as const) {
      for (const id of ['4294967296', 'abc', long]) {
        const response = await app.inject({ method, url: `/api/tasks/${id}/${url}`, payload: method === 'POST' ? {} : undefined });
        expect(response.statusCode, `${method} ${url} ${id}`).toBe(400);
        const shown = id === long ? `${'9'.repeat(40)}…` : id;
        expect(response.json()).toEqual({ error: `task id must be a positive whole number, got "${shown}"` });
      }
    }
    expect((await app.inject({ method: 'GET', url: '/api/tasks/4294967295/diagnose' })).statusCode).toBe(404);
  });

  it('leave every other error to the app: broken JSON is still a 400 { error }, a bad body the operation’s bad-input', async () => {
    const taskId = await givenTask(database.db, { jobGroupId: 'jg-body' });
    app = await appOver(database);
    const url = `/api/tasks/${taskId}/close-leads`;
    const broken = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{"cause":' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toEqual({ error: expect.stringMatching(/JSON/) });
    const bad = await app.inject({ method: 'POST', url, payload: { cause: 'lost', remark: 'x', interest: 7 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      taskId, status: 'refused', reason: 'bad-input', facts: { problem: expect.stringMatching(/^cause must be one of/) }, error: expect.stringMatching(/^cause must be one of cancelled, not-in-group, no-conversation/),
    });
  });
});
