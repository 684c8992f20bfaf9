import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { EmbeddedSearchIndex } from '#adapters/embedded-search-index';
import { INDEX_DEFINITION, TREND_SCRIPT } from '#adapters/opensearch-search-index';
import type { SearchDocument, SearchHit, SearchRequest } from '#domain/ports';
import { FieldWeights, MatchKindWeights, TREND_HALF_LIFE_MS } from '#domain/search';

type Json = Record<string, any>;

/** One request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

const TEXT_PATHS = { title: 'title', tags: 'tags.text', description: 'description' } as const;
const SORT = [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }];

/**
 * A stand-in OpenSearch endpoint on loopback for the OpenSearch adapter's contract tests (real
 * OpenSearch cannot run here). It checks the shape of every request the adapter sends — paths,
 * methods, the index mapping, bulk NDJSON, the query DSL clause by clause — and answers a
 * well-formed request from an in-memory model (the embedded engine, which has the same
 * relevance rule), so the adapter's request building and response parsing are both exercised.
 * A request of the wrong shape gets a 400 and is listed in {@link violations}.
 */
export class FakeOpenSearch {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  private readonly model = new EmbeddedSearchIndex();
  private readonly indices = new Set<string>();
  private readonly ids = new Set<string>();
  private server: Server | undefined;

  constructor(private readonly index: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
        this.requests.push(recorded);
        this.handle(recorded)
          .then(({ status, json }) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(req.method === 'HEAD' ? undefined : JSON.stringify(json ?? {}));
          })
          .catch((error: unknown) => {
            const reason = error instanceof Error ? error.message : String(error);
            this.violations.push(`${recorded.method} ${recorded.path}: ${reason}`);
            res.writeHead(400, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: { type: 'illegal_argument_exception', reason } }));
          });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: RecordedRequest): Promise<{ status: number; json?: unknown }> {
    const path = req.path.split('?')[0]!;
    if (req.method === 'HEAD' && path === `/${this.index}`) return { status: this.indices.has(this.index) ? 200 : 404 };
    if (req.method === 'PUT' && path === `/${this.index}`) {
      if (this.indices.has(this.index)) return { status: 400, json: { error: { type: 'resource_already_exists_exception' } } };
      expect(isDeepStrictEqual(JSON.parse(req.body), JSON.parse(JSON.stringify(INDEX_DEFINITION))), 'the index definition differs from INDEX_DEFINITION');
      this.indices.add(this.index);
      return { status: 200, json: { acknowledged: true, index: this.index } };
    }
    if (req.method === 'POST' && path === '/_bulk') return { status: 200, json: await this.bulk(req) };
    if (req.method === 'GET' && path === `/${this.index}/_search`) {
      if (!this.indices.has(this.index)) return { status: 404, json: { error: { type: 'index_not_found_exception' } } };
      const body = JSON.parse(req.body) as Json;
      const hits = body['query']?.function_score ? await this.trending(body) : await this.search(body);
      return {
        status: 200,
        json: { took: 1, timed_out: false, hits: { hits: hits.map((h) => ({ _index: this.index, _id: h.doc.id, _score: h.score, _source: h.doc, sort: [h.score, h.doc.id] })) } },
      };
    }
    throw new Error('unexpected request');
  }

  private async bulk(req: RecordedRequest): Promise<Json> {
    expect(/^application\/(x-ndjson|json)/.test(String(req.headers['content-type'])), `bulk content-type ${req.headers['content-type']}`);
    expect(req.body.endsWith('\n'), 'bulk NDJSON must end with a newline');
    const lines = req.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
    const items: Json[] = [];
    for (let i = 0; i < lines.length; i++) {
      const action = lines[i]!;
      const [op] = Object.keys(action);
      const meta = action[op!] as Json;
      expect(meta['_index'] === this.index && typeof meta['_id'] === 'string', `bulk line ${i}: needs _index ${this.index} and an _id`);
      if (op === 'index') {
        const doc = lines[++i] as SearchDocument;
        expect(doc !== undefined && doc.id === meta['_id'], `bulk line ${i}: the source must follow its action, with the same id`);
        expect(Object.keys(doc).every((k) => k in INDEX_DEFINITION.mappings.properties), `bulk line ${i}: a field outside the strict mapping`);
        await this.model.upsert([doc]);
        this.ids.add(doc.id);
        items.push({ index: { _id: doc.id, status: 200 } });
      } else if (op === 'delete') {
        const existed = this.ids.delete(meta['_id'] as string);
        await this.model.remove([meta['_id'] as string]);
        items.push({ delete: { _id: meta['_id'], status: existed ? 200 : 404 } });
      } else {
        throw new Error(`bulk line ${i}: unexpected action ${op}`);
      }
    }
    return { took: 1, errors: false, items };
  }

  /** Reads a search body back into the request it encodes, checking every clause on the way. */
  private async search(body: Json): Promise<SearchHit[]> {
    expect(Number.isInteger(body['size']) && body['size'] > 0, 'size must be a positive integer');
    expect(body['track_total_hits'] === false, 'track_total_hits must be false');
    expect(isDeepStrictEqual(body['sort'], SORT), 'sort must be [_score desc, id asc]');
    const bool = body['query']?.bool as Json | undefined;
    expect(bool !== undefined && Object.keys(body['query']).length === 1, 'the query must be one bool');
    const filters = bool!['filter'] as Json[];
    const request: { -readonly [K in keyof SearchRequest]: SearchRequest[K] } = { limit: body['size'], ...this.visibility(filters[0]!) };
    const tags: string[] = [];
    for (const filter of filters.slice(1)) {
      if (filter['range']) {
        const range = filter['range'].createdAt as Json | undefined;
        expect(
          Object.keys(filter['range']).join() === 'createdAt' && typeof range?.['lte'] === 'number' && range['format'] === 'epoch_millis',
          'the corpus time is a range filter on createdAt (lte, epoch_millis)',
        );
        request.asOf = range!['lte'];
      } else if (filter['term']?.tags !== undefined) {
        expect(filter['term'].tags === filter['term'].tags.toLowerCase(), 'tag filters are lower-case terms');
        tags.push(filter['term'].tags);
      } else {
        throw new Error(`unexpected filter ${JSON.stringify(filter)}`);
      }
    }
    if (tags.length) request.tags = tags;
    if (bool!['must_not']) request.excludeIds = this.excluded(bool!['must_not']);
    if (bool!['should']) {
      expect(bool!['minimum_should_match'] === 1, 'text clauses need minimum_should_match 1');
      request.text = (bool!['should'] as Json[]).map((clause) => this.termOf(clause)).join(' ');
    }
    if (body['search_after']) {
      const [score, id] = body['search_after'] as [number, string];
      expect(typeof score === 'number' && typeof id === 'string', 'search_after is [score, id]');
      request.after = { score, id };
    }
    return this.model.search(request);
  }

  /** One term's dis_max: for each field, exact / prefix / fuzzy constant-score clauses boosted by weight × kind. */
  private termOf(clause: Json): string {
    const disMax = clause['dis_max'] as Json | undefined;
    expect(disMax !== undefined && disMax['tie_breaker'] === 0, 'each term is a dis_max with tie_breaker 0 (the best field wins)');
    const queries = disMax!['queries'] as Json[];
    const term = queries[0]?.constant_score?.filter?.match?.title?.query as string;
    expect(typeof term === 'string' && term.length > 0, 'the first clause is an exact match on title');
    const expected: Json[] = [];
    for (const [field, path] of Object.entries(TEXT_PATHS)) {
      const weight = FieldWeights[field as keyof typeof FieldWeights];
      const boost = (kind: keyof typeof MatchKindWeights) => Number((weight * MatchKindWeights[kind]).toFixed(6));
      expected.push({ constant_score: { filter: { match: { [path]: { query: term } } }, boost: boost('exact') } });
      if (term.length >= 2) expected.push({ constant_score: { filter: { match_phrase_prefix: { [path]: { query: term } } }, boost: boost('prefix') } });
      expected.push({ constant_score: { filter: { match: { [path]: { query: term, fuzziness: 'AUTO', prefix_length: 0 } } }, boost: boost('fuzzy') } });
    }
    expect(isDeepStrictEqual(queries, expected), `the clauses of term "${term}" are not the constant-score set`);
    return term;
  }

  private visibility(filter: Json): { viewerId?: string } {
    const publicReady = { bool: { filter: [{ term: { status: 'ready' } }, { term: { visibility: 'public' } }] } };
    if (isDeepStrictEqual(filter, publicReady)) return {};
    const should = filter['bool']?.should as Json[] | undefined;
    expect(
      should?.length === 2 && isDeepStrictEqual(should[0], publicReady) && typeof should[1]?.term?.ownerId === 'string' && filter['bool'].minimum_should_match === 1,
      'the first filter is the visibility rule (public and ready, or the viewer\'s own)',
    );
    return { viewerId: should![1]!.term.ownerId };
  }

  private excluded(mustNot: Json[]): string[] {
    expect(mustNot.length === 1 && Array.isArray(mustNot[0]?.ids?.values), 'must_not is one ids query');
    return mustNot[0]!.ids.values;
  }

  private async trending(body: Json): Promise<SearchHit[]> {
    const fs = body['query'].function_score as Json;
    expect(fs['boost_mode'] === 'replace', 'trending replaces the score with the script');
    const script = fs['script_score']?.script as Json;
    expect(script?.source === TREND_SCRIPT && script?.params?.halfLife === TREND_HALF_LIFE_MS && typeof script?.params?.now === 'number', 'trending decays with the trend script');
    expect(isDeepStrictEqual(body['sort'], SORT), 'sort must be [_score desc, id asc]');
    const filters = fs['query']?.bool?.filter as Json[];
    expect(isDeepStrictEqual(filters?.[0], { term: { status: 'ready' } }), 'trending shows ready videos only');
    const { viewerId } = this.visibility(filters[1]!);
    const mustNot = fs['query'].bool.must_not as Json[] | undefined;
    return this.model.trending({
      limit: body['size'],
      now: script.params.now,
      ...(viewerId ? { viewerId } : {}),
      ...(mustNot ? { excludeIds: this.excluded(mustNot) } : {}),
    });
  }
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
