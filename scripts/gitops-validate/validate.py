"""Validates every object of strata's GitOps output (see scripts/validate-gitops).

Run by scripts/validate-gitops with the Python of .tools/gitops-validate/venv (made by
scripts/gitops-validate/install). Each object of each *.yaml file under the directories:
- Argo CD (argoproj.io) and Flux (*.fluxcd.io) objects go to crd.mjs (Node.js), which
  validates them with @kubernetes-models/argo-cd and @kubernetes-models/flux-cd;
- every other object is validated by kubernetes-validate against the OpenAPI schema of
  Kubernetes KUBERNETES_VERSION in strict mode (a field the schema does not name is an error).
A kind that neither knows is an error, never skipped.

Exit: 0 all valid; 1 an object (or a file) is invalid, or there was nothing to validate;
2 usage error; 3 the validator itself is broken (Node.js missing, crd.mjs failed).
"""

import json
import os
import re
import subprocess
import sys
import threading

import yaml

# The minor of the pinned kubectl (scripts/tools.lock): the cluster version strata targets.
KUBERNETES_VERSION = "1.33"

USAGE = """usage: scripts/validate-gitops DIR...

Validates every object in every *.yaml file under each DIR (the output of
`strata gitops render`): Argo CD and Flux objects against their CRD schemas
(@kubernetes-models/argo-cd, @kubernetes-models/flux-cd), every other object against the
Kubernetes {k8s} OpenAPI schema (kubernetes-validate, strict: unknown fields are errors).
Prints `FILE: KIND/NAME: FIELD: REASON` on stderr for each invalid object, then
`validated N objects in M files` on stdout.
Exit: 0 all valid; 1 some object invalid, or nothing validated; 2 usage error;
3 the validator is not installed or broken (run scripts/gitops-validate/install).
""".format(k8s=KUBERNETES_VERSION)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NODE_MODULES = os.path.join(ROOT, ".tools", "gitops-validate", "node", "node_modules")
MARKER = ".strata-gitops"


def usage_error(message):
    sys.stderr.write("validate-gitops: %s\n\n%s" % (message, USAGE))
    sys.exit(2)


class Broken(Exception):
    """The validator itself failed (exit 3)."""


# --- YAML as Kubernetes reads it -------------------------------------------------------
# PyYAML is YAML 1.1 like the Go YAML library kubectl uses (`yes` is a boolean), with
# Kubernetes' differences: timestamps stay strings, and a key twice in a mapping is an error
# (as with `kubectl apply --validate=strict`).

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_Base):
    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        "found duplicate key %r" % (key,), key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


Loader.add_constructor("tag:yaml.org,2002:timestamp",
                       lambda loader, node: loader.construct_scalar(node))
# A scalar `=` (PyYAML's "value" tag) is the string "=", as kubernetes-validate reads it.
Loader.add_constructor("tag:yaml.org,2002:value",
                       lambda loader, node: loader.construct_scalar(node))


def as_json(value):
    """The object as the API server sees it: JSON (string keys)."""
    return json.loads(json.dumps(value, default=str))


# --- reporting -------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def field_path(segments):
    out = ""
    for s in segments:
        if isinstance(s, int):
            out += "[%d]" % s
        elif _PLAIN.match(s):
            out += ("." + s) if out else s
        else:
            out += "[%s]" % json.dumps(s)
    return out or "(object)"


def shown(value):
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def object_label(obj):
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) and obj.get("kind") else "?"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        generate = meta.get("generateName")
        name = generate + "*" if isinstance(generate, str) and generate else "?"
    return "%s/%s" % (kind, name)


def dedupe(errors):
    seen, out = set(), []
    for e in errors:
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


# --- core Kubernetes objects: kubernetes-validate --------------------------------------

class Core:
    """kubernetes-validate gives the verdict (it stops at the first error); on a failure the
    same schema files with the same validator list every error of the object."""

    def __init__(self):
        import kubernetes_validate  # noqa: deferred: not every run has core objects
        from kubernetes_validate import utils
        import functools
        import jsonschema
        from referencing import Registry, Resource
        # validate() reads the kind's schema and the 1.8 MB _definitions.json from disk for
        # every object: read each file once (they are only read, never changed).
        if not hasattr(utils.schema_contents, "cache_info"):
            utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
        self.kv, self.utils, self.jsonschema = kubernetes_validate, utils, jsonschema
        self.Registry, self.Resource = Registry, Resource
        self.version = kubernetes_validate.version.__version__
        self.validators = {}

    def _validator(self, obj):
        key = (obj["apiVersion"], obj["kind"])
        if key not in self.validators:
            utils = self.utils
            mm = utils.major_minor(KUBERNETES_VERSION)
            version = [v for v in utils.all_versions() if utils.major_minor(v) <= mm][-1]
            api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
            schema_dir = "kubernetes-json-schema/v%s-local-strict" % version
            schema = utils.schema_contents(
                "%s/%s-%s.json" % (schema_dir, obj["kind"].lower(), api), KUBERNETES_VERSION)
            defs = utils.schema_contents(schema_dir + "/_definitions.json", KUBERNETES_VERSION)
            registry = self.Resource.from_contents(defs) @ (
                self.Resource.from_contents(schema) @ self.Registry())
            self.validators[key] = self.jsonschema.validators.Draft202012Validator(
                schema, registry=registry)
        return self.validators[key]

    @staticmethod
    def describe(e):
        path = list(e.absolute_path)
        if e.validator == "required" and isinstance(e.instance, dict):
            return [(field_path(path + [p]), "required field missing")
                    for p in e.validator_value if p not in e.instance]
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            known = e.schema.get("properties", {})
            patterns = e.schema.get("patternProperties", {})
            extra = [k for k in e.instance
                     if k not in known and not any(re.search(p, k) for p in patterns)]
            if extra:
                return [(field_path(path + [k]), "unknown field") for k in extra]
        if e.validator == "type":
            types = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
            types = [t for t in types if t != "null"] or types
            return [(field_path(path), "must be %s (got %s)" % (" or ".join(types), shown(e.instance)))]
        if e.validator == "enum":
            return [(field_path(path), "must be one of %s (got %s)" % (
                ", ".join(json.dumps(v) for v in e.validator_value), shown(e.instance)))]
        message = e.message if len(e.message) <= 200 else e.message[:197] + "..."
        return [(field_path(path), message)]

    def errors(self, obj):
        # Both name a schema file: nothing else may reach its path.
        if not re.match(r"^([a-z0-9][a-z0-9.-]*/)?v[a-z0-9]+$", obj["apiVersion"]):
            return [("apiVersion", "not an API version: %s" % shown(obj["apiVersion"]))]
        if not re.match(r"^[A-Za-z][A-Za-z0-9]*$", obj["kind"]):
            return [("kind", "not a kind: %s" % shown(obj["kind"]))]
        try:
            self.kv.validate(obj, KUBERNETES_VERSION, strict=True)
            return []
        except self.kv.SchemaNotFoundError:
            return [("kind", "unknown kind: no schema for %s %s in Kubernetes %s "
                     "(kubernetes-validate %s), and not an Argo CD or Flux kind"
                     % (obj["apiVersion"], obj["kind"], KUBERNETES_VERSION, self.version))]
        except self.kv.ValidationError as first:
            found = []
            for e in self._validator(obj).iter_errors(obj):
                found.extend(self.describe(e))
            return dedupe(found or self.describe(first))
        except Exception as e:  # noqa: BLE001 - the object is not judged valid, whatever failed
            return [("(object)", "cannot be validated: %s: %s" % (type(e).__name__, e))]


# --- Argo CD and Flux objects: crd.mjs -------------------------------------------------

def is_crd(api_version):
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return group == "argoproj.io" or group.endswith(".fluxcd.io")


class Crd:
    """crd.mjs in a Node.js process, running while the core objects are validated."""

    def __init__(self, objects):
        payload = json.dumps([{"id": i, "object": o} for i, o in objects])
        try:
            self.proc = subprocess.Popen(
                ["node", os.path.join(HERE, "crd.mjs"), NODE_MODULES],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise Broken("node (Node.js) is not on PATH")
        self.writer = threading.Thread(target=self._write, args=(payload,), daemon=True)
        self.writer.start()

    def _write(self, payload):
        try:
            self.proc.stdin.write(payload)
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def results(self):
        out = self.proc.stdout.read()
        code = self.proc.wait()
        self.writer.join()
        if code not in (0, 1):
            raise Broken("crd.mjs failed (exit %d)" % code)
        try:
            return {r["id"]: [(e["field"], e["reason"]) for e in r["errors"]]
                    for r in json.loads(out)}
        except (ValueError, KeyError, TypeError) as e:
            raise Broken("crd.mjs gave unreadable output: %s" % e)


# --- main --------------------------------------------------------------------------------

def yaml_files(directory):
    """The *.yaml files under directory, sorted by their path in it."""
    found = []
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            if name != MARKER and name.endswith(".yaml"):
                found.append(os.path.relpath(os.path.join(dirpath, name), directory))
    return [os.path.join(directory, rel) for rel in sorted(found)]


def yaml_problem(e):
    """A YAML error in one line: what is wrong, and where."""
    problem = getattr(e, "problem", None)
    mark = getattr(e, "problem_mark", None)
    if problem is None:
        return str(e).replace("\n", " ")
    context = getattr(e, "context", None)
    text = "%s %s" % (context, problem) if context else problem
    if mark is not None:
        text += " (line %d, column %d)" % (mark.line + 1, mark.column + 1)
    return text


def main(argv):
    args = argv[1:]
    if args in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        usage_error("no directory given")
    for d in args:
        if not os.path.isdir(d):
            usage_error(("unknown option %s" if d.startswith("-") else "not a directory: %s") % d)

    # Parse everything first: (file, label, object) in order, and per-file problems.
    entries = []  # [file, label, document (None: the file's parse error), errors (None: pending)]
    files = 0
    for d in args:
        for path in yaml_files(d):
            files += 1
            number = 0
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for number, doc in enumerate(yaml.load_all(text, Loader=Loader), 1):
                    if doc is None:
                        continue
                    if not isinstance(doc, dict):
                        entries.append([path, "document %d" % number, doc,
                                        [("(object)", "must be a mapping (got %s)" % type(doc).__name__)]])
                        continue
                    obj = as_json(doc)
                    missing = [(k, "required field missing") for k in ("apiVersion", "kind")
                               if not isinstance(obj.get(k), str) or not obj.get(k)]
                    entries.append([path, object_label(obj), obj, missing or None])
            except (yaml.YAMLError, UnicodeDecodeError, OSError) as e:
                reason = yaml_problem(e) if isinstance(e, yaml.YAMLError) else str(e)
                entries.append([path, "document %d" % (number + 1), None,
                                [("(yaml)", "cannot parse: " + reason)]])

    pending = [(i, e[2]) for i, e in enumerate(entries) if e[3] is None]
    crd = Crd([(i, o) for i, o in pending if is_crd(o["apiVersion"])]) \
        if any(is_crd(o["apiVersion"]) for _, o in pending) else None
    core = None
    for i, obj in pending:
        if not is_crd(obj["apiVersion"]):
            core = core or Core()
            entries[i][3] = core.errors(obj)
    if crd:
        for i, errors in crd.results().items():
            entries[i][3] = errors

    objects = invalid = 0
    for path, label, obj, errors in entries:
        objects += obj is not None
        if errors:
            invalid += 1
            sys.stderr.write("%s: %s: %s\n" % (
                path, label, "; ".join("%s: %s" % e for e in errors)))
    summary = "validated %d objects in %d files" % (objects, files)
    if invalid:
        summary += " (%d invalid)" % invalid
    print(summary)
    if objects == 0:
        sys.stderr.write("validate-gitops: no objects found under %s\n" % " ".join(args))
        return 1
    return 1 if invalid else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Broken as e:
        sys.stderr.write("validate-gitops: the validator is broken: %s "
                         "(reinstall: scripts/gitops-validate/install)\n" % e)
        sys.exit(3)
