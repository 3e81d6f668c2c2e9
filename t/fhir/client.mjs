// t/029-fhir-client.t's FHIR client: fhir-kit-client against an
// "epro_submit fhir;" prefix location, as a phone or an EHR would use it.
//
// node client.mjs PKGDIR BASEURL SCENARIO RESPONSE_JSON ID1 ID2 ID3
//
// PKGDIR holds node_modules/fhir-kit-client; RESPONSE_JSON is a PHQ-9
// QuestionnaireResponse; ID1..3 are upper-case UUIDs, the identifiers of
// the responses the scenario sends (urn:uuid:ID; the server's id is its
// lower case).  Prints one JSON line per check, {"ok", "name", "diag"},
// then {"done": true}.  Scenarios: metadata, create, transaction,
// batch.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkgdir, baseUrl, scenario, responseFile, ...ids] =
    process.argv.slice(2);

// 1.x (CommonJS, node >= 16: Debian 12's node 18) or 2.x (ESM, node >= 20)
const dir = join(pkgdir, 'node_modules', 'fhir-kit-client');
let Client, CapabilityTool;

if (existsSync(join(dir, 'dist', 'index.js'))) {
    ({ Client, CapabilityTool } =
        await import(pathToFileURL(join(dir, 'dist', 'index.js')).href));
} else {
    Client = createRequire(import.meta.url)(dir);
    CapabilityTool = Client.CapabilityTool;
}

const client = new Client({ baseUrl });
const phq9 = JSON.parse(readFileSync(responseFile, 'utf8'));

const PHQ9 = 'http://loinc.org/q/44249-1|2.74';
const IDENTIFIER = 'https://app.example.org/fhir/qr-id';

function report(ok, name, diag) {
    process.stdout.write(JSON.stringify({ ok, name, diag }) + '\n');
}

async function check(name, fn) {
    try {
        await fn();
        report(true, name);
    } catch (e) {
        const data = e.response ? ' ' + JSON.stringify(e.response) : '';
        report(false, name, String(e.message || e) + data);
    }
}

// the response with identifier urn:uuid:<id>, without an id (the server
// gives it); bad: without authored, which R4 intake requires here
function response(id, bad) {
    const r = structuredClone(phq9);
    delete r.id;
    r.identifier = { system: IDENTIFIER, value: 'urn:uuid:' + id };
    if (bad) {
        delete r.authored;
    }
    return r;
}

function bundle(type, resources) {
    return {
        resourceType: 'Bundle',
        type,
        entry: resources.map((r) => ({
            fullUrl: 'urn:uuid:' + crypto.randomUUID(),
            resource: r,
            request: {
                method: 'POST',
                url: 'QuestionnaireResponse',
                ifNoneExist: 'identifier=' + IDENTIFIER + '|'
                    + r.identifier.value,
            },
        })),
    };
}

// what a read must give: what was sent, plus id, meta.versionId and
// meta.lastUpdated (the sent meta's other members kept)
function expected(sent, id, got) {
    assert.equal(typeof got.meta?.lastUpdated, 'string',
                 'meta.lastUpdated');
    assert.ok(!Number.isNaN(Date.parse(got.meta.lastUpdated)),
              'meta.lastUpdated is an instant');
    return {
        ...sent,
        id,
        meta: { ...(sent.meta || {}), versionId: '1',
                lastUpdated: got.meta.lastUpdated },
    };
}

// follows an entry's location with resolve() and, by its id, with read()
// and vread(): each is what was sent, plus id and meta
async function readBack(name, entry, sent, id) {
    await check(`${name}: location QuestionnaireResponse/${id}/_history/1`,
                async () => {
        assert.equal(entry.response.location,
                     `QuestionnaireResponse/${id}/_history/1`);
    });

    await check(`${name}: resolve(location) reads back what was sent`,
                async () => {
        const got = await client.resolve({
            reference: entry.response.location });
        assert.deepEqual(got, expected(sent, id, got));
    });

    await check(`${name}: read() reads back what was sent`, async () => {
        const got = await client.read({
            resourceType: 'QuestionnaireResponse', id });
        assert.deepEqual(got, expected(sent, id, got));
    });
}

async function metadata() {
    let cs;

    await check('capabilityStatement() is an R4 CapabilityStatement',
                async () => {
        cs = await client.capabilityStatement();
        assert.equal(cs.resourceType, 'CapabilityStatement');
        assert.equal(cs.fhirVersion, '4.0.1');
        assert.ok(cs.format.includes('json'));
    });

    if (cs === undefined) {
        return;
    }

    const tool = new CapabilityTool(cs);

    for (const code of ['transaction', 'batch']) {
        await check(`the server can ${code}`, async () => {
            assert.ok(tool.serverCan(code));
        });
    }

    for (const code of ['create', 'read']) {
        await check(`QuestionnaireResponse can ${code}`, async () => {
            assert.ok(tool.resourceCan('QuestionnaireResponse', code));
        });
    }

    await check('conditionalCreate, and the PHQ-9 listed', async () => {
        const r = cs.rest[0].resource.find(
            (x) => x.type === 'QuestionnaireResponse');
        assert.equal(r.conditionalCreate, true);
        assert.ok(r.extension.some((e) => e.valueCanonical === PHQ9));
    });

    await check('implementation.url is the client\'s base', async () => {
        assert.equal(cs.implementation.url, baseUrl);
    });
}

// one response with create(): the answer and a read() are what was sent
async function create() {
    const sent = response(ids[0], false);
    const id = ids[0].toLowerCase();

    await check('create(): the answer is what was sent, plus id and meta',
                async () => {
        const got = await client.create({
            resourceType: 'QuestionnaireResponse', body: sent });
        assert.deepEqual(got, expected(sent, id, got));
    });

    await check('create(): read() reads back what was sent', async () => {
        const got = await client.read({
            resourceType: 'QuestionnaireResponse', id });
        assert.deepEqual(got, expected(sent, id, got));
    });

    await check('create(): vread() of version 1 too', async () => {
        const got = await client.vread({
            resourceType: 'QuestionnaireResponse', id, version: '1' });
        assert.deepEqual(got, expected(sent, id, got));
    });
}

async function transaction() {
    const sent = ids.map((id) => response(id, false));

    for (const round of ['201 Created', '200 OK']) {
        const name = round === '201 Created' ? 'transaction'
                                             : 'the same transaction again';
        let res;

        await check(`${name}: a transaction-response of 3 entries`,
                    async () => {
            res = await client.transaction({
                body: bundle('transaction', sent) });
            assert.equal(res.resourceType, 'Bundle');
            assert.equal(res.type, 'transaction-response');
            assert.equal(res.entry.length, 3);
        });

        if (res?.entry?.length !== 3) {
            continue;
        }

        for (let i = 0; i < 3; i++) {
            const entry = res.entry[i];
            const id = ids[i].toLowerCase();

            await check(`${name}: entry ${i} ${round}, etag W/"1"`
                        + (round === '201 Created' ? ', lastModified' : ''),
                        async () => {
                assert.equal(entry.response.status, round);
                assert.equal(entry.response.etag, 'W/"1"');
                if (round === '201 Created') {
                    assert.ok(!Number.isNaN(
                        Date.parse(entry.response.lastModified)));
                }
            });

            await readBack(`${name}: entry ${i}`, entry, sent[i], id);
        }
    }
}

async function batch() {
    const sent = ids.map((id, i) => response(id, i === 1));
    let res;

    await check('batch: a batch-response of 3 entries', async () => {
        res = await client.batch({ body: bundle('batch', sent) });
        assert.equal(res.resourceType, 'Bundle');
        assert.equal(res.type, 'batch-response');
        assert.equal(res.entry.length, 3);
    });

    if (res?.entry?.length !== 3) {
        return;
    }

    await check('batch: the bad entry is 4xx with an OperationOutcome',
                async () => {
        const r = res.entry[1].response;
        assert.match(r.status, /^4\d\d\b/);
        assert.equal(r.outcome?.resourceType, 'OperationOutcome');
        assert.equal(r.location, undefined);
    });

    for (const i of [0, 2]) {
        await check(`batch: entry ${i} 201 Created`, async () => {
            assert.equal(res.entry[i].response.status, '201 Created');
        });

        await readBack(`batch: entry ${i}`, res.entry[i], sent[i],
                       ids[i].toLowerCase());
    }

    await check('batch: the bad entry was not stored (read: 404)',
                async () => {
        await assert.rejects(
            client.read({ resourceType: 'QuestionnaireResponse',
                          id: ids[1].toLowerCase() }),
            (e) => e.response?.status === 404);
    });
}

const scenarios = { metadata, create, transaction, batch };

if (!scenarios[scenario]) {
    report(false, `unknown scenario ${scenario}`);
} else {
    await scenarios[scenario]();
}

process.stdout.write(JSON.stringify({ done: true }) + '\n');
