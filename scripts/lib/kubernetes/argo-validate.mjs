// Validates Argo Rollouts objects against the schemas that @kubernetes-models/argo-rollouts
// generates from Argo Rollouts' own Go types (the source of its CRDs), offline.
//
//   node argo-validate.mjs NODE_MODULES_DIR < objects.json
//
// stdin: a JSON array of {"where": "file: Kind/name", "object": {...}}.
// stdout: a JSON array of error strings (empty when every object is valid).
//
// The generated validators check types, enums and required fields but, like the
// Kubernetes OpenAPI schemas they come from, accept unknown fields, which the API server
// refuses (kubectl's strict field validation). So each object is validated through a
// Proxy that records which fields the validator looked up: an object whose schema lists
// properties has every listed one looked up, and a key it holds that was never looked up
// is unknown to the schema. A map (labels, resources.requests) is enumerated by the
// validator, which marks all its keys known; an object the schema leaves open is not
// looked into at all and is not judged.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node argo-validate.mjs NODE_MODULES_DIR < objects.json");
  process.exit(2);
}

const schemas = join(modules, "@kubernetes-models/argo-rollouts/_schemas");
const kinds = {
  Rollout: "ComGithubArgoprojArgoRolloutsPkgApisRolloutsV1alpha1Rollout.js",
  AnalysisTemplate: "ComGithubArgoprojArgoRolloutsPkgApisRolloutsV1alpha1AnalysisTemplate.js",
  ClusterAnalysisTemplate:
    "ComGithubArgoprojArgoRolloutsPkgApisRolloutsV1alpha1ClusterAnalysisTemplate.js",
};

/** Wraps `value` so that lookups are recorded in `seen` (path → {keys, enumerated}). */
function watch(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  const record = { keys: new Set(), enumerated: false, value };
  seen.set(path, record);
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") record.keys.add(key);
      const child = Reflect.get(target, key, receiver);
      if (typeof key !== "string" || !Object.hasOwn(target, key)) return child;
      return watch(child, `${path}.${key}`, seen);
    },
    has(target, key) {
      if (typeof key === "string") record.keys.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** The keys of looked-into objects that the validator never looked up. */
function unknownFields(seen) {
  const unknown = [];
  for (const [path, record] of seen) {
    if (Array.isArray(record.value) || record.enumerated || record.keys.size === 0) continue;
    for (const key of Object.keys(record.value)) {
      if (!record.keys.has(key)) unknown.push(`${path}.${key}`);
    }
  }
  return unknown;
}

// ajv-i18n's English messages, as @kubernetes-models/validate words them.
const localize = (await import(pathToFileURL(join(modules, "ajv-i18n/localize/en/index.js")).href))
  .default;

const input = JSON.parse(readFileSync(0, "utf8"));
const errors = [];
for (const { where, object } of input) {
  const file = kinds[object?.kind];
  if (!file) {
    errors.push(`${where}: no Argo Rollouts schema for kind ${JSON.stringify(object?.kind)}`);
    continue;
  }
  if (object.apiVersion !== "argoproj.io/v1alpha1") {
    errors.push(`${where}: apiVersion must be argoproj.io/v1alpha1, not ${JSON.stringify(object.apiVersion)}`);
    continue;
  }
  const { validate } = await import(pathToFileURL(join(schemas, file)).href);
  const seen = new Map();
  const valid = validate(watch(object, "", seen));
  if (!valid) {
    const found = validate.errors ?? [];
    localize(found);
    for (const e of found) {
      const at = e.instancePath ? e.instancePath.slice(1).replaceAll("/", ".") : "(root)";
      const line = `${where}: ${at}: ${e.message}`;
      if (!errors.includes(line)) errors.push(line);
    }
  }
  for (const path of unknownFields(seen)) {
    errors.push(`${where}: ${path.slice(1)}: unknown field (not in the Argo Rollouts schema)`);
  }
}
process.stdout.write(JSON.stringify(errors));
