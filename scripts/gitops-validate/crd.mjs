// Validates Argo CD and Flux objects with the pinned @kubernetes-models/argo-cd and
// @kubernetes-models/flux-cd packages: each exports a class per kind (at
// <package>/<group>/<version>/<Kind>.js) whose validate() runs the schema of that kind.
//
// Usage: node crd.mjs NODE_MODULES_DIR < objects.json
//   stdin:  [{"id": ..., "object": {...}}, ...]
//   stdout: [{"id": ..., "errors": [{"field": "spec.destination", "reason": "..."}]}, ...]
//           (no errors: valid; a kind neither package has is an error on `kind`)
// Exit: 0 all valid, 1 some invalid, 2 bad input or arguments.
//
// What these schemas catch: wrong types, enum values, patterns, missing required fields.
// What they do not: a field the CRD does not have (the generated schemas leave objects open,
// and the compiled validators carry no property list to check against).
// Run by scripts/gitops-validate/validate.py; installed by scripts/gitops-validate/install.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const PACKAGES = {
  "argo-cd": (group) => group === "argoproj.io",
  "flux-cd": (group) => group.endsWith(".toolkit.fluxcd.io"),
};

const nodeModules = process.argv[2];
if (!nodeModules || !existsSync(nodeModules)) {
  process.stderr.write("usage: node crd.mjs NODE_MODULES_DIR < objects.json\n");
  process.exit(2);
}

function packageVersion(pkg) {
  const file = join(nodeModules, "@kubernetes-models", pkg, "package.json");
  return JSON.parse(readFileSync(file, "utf8")).version;
}

/** A field path for people: spec.template.spec.containers[0].image, metadata.labels["a.b/c"]. */
function fieldPath(segments) {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number" || /^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out || "(object)";
}

function pointerSegments(pointer) {
  if (!pointer) return [];
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function valueAt(object, segments) {
  let v = object;
  for (const s of segments) {
    if (v === null || typeof v !== "object") return undefined;
    v = v[s];
  }
  return v;
}

function shown(value) {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}

/** One ajv error as {field, reason}. */
function describe(object, err) {
  const segments = pointerSegments(err.instancePath);
  const p = err.params || {};
  switch (err.keyword) {
    case "required":
      return { field: fieldPath([...segments, p.missingProperty]), reason: "required field missing" };
    case "additionalProperties":
      return { field: fieldPath([...segments, p.additionalProperty]), reason: "unknown field" };
    case "type":
      return {
        field: fieldPath(segments),
        reason: `must be ${[].concat(p.type).join(" or ")} (got ${shown(valueAt(object, segments))})`,
      };
    case "enum":
      return {
        field: fieldPath(segments),
        reason: `must be one of ${(p.allowedValues || []).map((v) => JSON.stringify(v)).join(", ")} (got ${shown(valueAt(object, segments))})`,
      };
    default:
      return {
        field: fieldPath(segments),
        reason: `${err.message || err.keyword} (got ${shown(valueAt(object, segments))})`,
      };
  }
}

const classes = new Map();
async function classFor(apiVersion, kind) {
  const key = `${apiVersion} ${kind}`;
  if (classes.has(key)) return classes.get(key);
  let found = { error: null, cls: null };
  const m = /^([a-z0-9.-]+)\/([a-z0-9]+)$/.exec(apiVersion ?? "");
  const pkg = m && Object.keys(PACKAGES).find((name) => PACKAGES[name](m[1]));
  if (!pkg) {
    found.error = `no schema for apiVersion ${JSON.stringify(apiVersion)}: neither @kubernetes-models/argo-cd nor @kubernetes-models/flux-cd covers it`;
  } else if (typeof kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    found.error = `not a kind: ${shown(kind)}`;
  } else {
    const file = join(nodeModules, "@kubernetes-models", pkg, m[1], m[2], `${kind}.js`);
    const cls = existsSync(file) ? (await import(pathToFileURL(file).href))[kind] : undefined;
    // Only a top-level kind carries its apiVersion and kind (not e.g. ApplicationSpec).
    if (typeof cls === "function" && cls.apiVersion === apiVersion && cls.kind === kind) {
      found.cls = cls;
    } else {
      found.error = `unknown kind: @kubernetes-models/${pkg}@${packageVersion(pkg)} has no ${kind} in ${apiVersion}`;
    }
  }
  classes.set(key, found);
  return found;
}

let input;
try {
  input = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(input)) throw new Error("not a JSON array");
} catch (e) {
  process.stderr.write(`crd.mjs: bad input: ${e.message}\n`);
  process.exit(2);
}

const results = [];
let invalid = 0;
for (const { id, object } of input) {
  const { cls, error } = await classFor(object?.apiVersion, object?.kind);
  let errors = [];
  if (error) {
    errors = [{ field: "kind", reason: error }];
  } else {
    try {
      new cls(object).validate();
    } catch (e) {
      if (!Array.isArray(e.errors)) throw e;
      const seen = new Set();
      for (const err of e.errors) {
        const d = describe(object, err);
        const k = `${d.field}\0${d.reason}`;
        if (!seen.has(k)) {
          seen.add(k);
          errors.push(d);
        }
      }
      if (errors.length === 0) errors.push({ field: "(object)", reason: e.message });
    }
  }
  if (errors.length) invalid++;
  results.push({ id, errors });
}
process.stdout.write(JSON.stringify(results) + "\n");
process.exit(invalid ? 1 : 0);
