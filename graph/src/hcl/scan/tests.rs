//! Differential tests: the scanner against the reference parser (hcl-edit).
//!
//! The property under test, for any input: when the scanner accepts a file, the reference
//! parser accepts it too and reads the same facts. Hand-written cases also pin that common
//! Terraform is read on the fast path (a scanner that gave up on everything would pass the
//! property and be useless).

use super::{scan, scan_with};
use crate::hcl::{
    parse_tf_reference, DecodedLocal, Decoding, FileRef, HclFacts, PathBase, VAR_PREFIX,
};
use std::path::{Path, PathBuf};

/// Checks the property for `text`; true when the scanner read it.
fn agrees(text: &str) -> bool {
    let Some(fast) = scan(text) else {
        return false;
    };
    match parse_tf_reference(text, "t.tf") {
        Ok(reference) => assert_eq!(fast, reference, "facts differ for:\n{text}"),
        Err(e) => panic!("the scanner accepted what the reference rejects ({e}):\n{text}"),
    }
    true
}

fn scanned(text: &str) -> HclFacts {
    assert!(agrees(text), "the scanner gave up on:\n{text}");
    scan(text).unwrap()
}

/// Each path local as (name, base, path, candidate).
fn local_facts(facts: &HclFacts) -> Vec<(&str, PathBase, &str, bool)> {
    facts
        .path_locals
        .iter()
        .map(|l| {
            (
                l.name.as_str(),
                l.base.clone(),
                l.path.as_str(),
                l.candidate,
            )
        })
        .collect()
}

fn given_up(text: &str) {
    assert!(scan(text).is_none(), "the scanner accepted:\n{text}");
}

/// The reference's file reads of a text that are no candidates are `reads`, as (base,
/// path, computed tail, line), and the reads it cannot resolve are at `unresolved` lines.
/// Reads as (base, path, dynamic tail, line).
fn read_tuples<'f>(
    refs: impl IntoIterator<Item = &'f FileRef>,
) -> Vec<(PathBase, &'f str, bool, usize)> {
    refs.into_iter()
        .map(|r| (r.base.clone(), r.path.as_str(), r.dynamic_tail, r.line))
        .collect()
}

fn assert_reference_reads(
    text: &str,
    reads: &[(PathBase, &str, bool, usize)],
    unresolved: &[usize],
) {
    let facts = parse_tf_reference(text, "t.tf").unwrap();
    let refs = read_tuples(facts.file_refs.iter().filter(|r| !r.candidate));
    assert_eq!(refs, reads);
    assert_eq!(facts.unresolved_refs, unresolved);
}

const COMMON: &[&str] = &[
    // modules, labels, escapes
    r#"module "vpc" {
  source = "../../modules/vpc"
  cidr   = var.cidr
}

module net {
  source = "./n\u0065t"
  count  = 2
}

module "remote" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.0"
}

module "computed" {
  source = "${path.module}/x"
}
"#,
    // locals holding paths, file functions, nesting and order
    r#"locals {
  shared = "${path.module}/../../shared"
  root   = "${path.root}/conf"
  plain  = "relative/dir"
  deep   = "${local.shared}/deeper"
  dyn    = "${path.module}/${var.env}"
  a      = file("${path.module}/../../shared/a.json")
  b      = templatefile("templates/b.tpl", { x = 1, y = [1, 2] })
  c      = [for f in fileset("${path.module}/../dash", "*.json") : file("${path.module}/../dash/${f}")]
  e      = file("${local.shared}/e.txt")
  g      = fileset(path.module, var.pattern)
  h      = filebase64sha256("${path.cwd}/artifact.zip")
  i      = provider::terraform::file("x")
  k      = fileset("${path.module}/cfg", "**/*.${var.ext}")
}
"#,
    // template directives in heredocs and quoted strings, reads inside them
    r#"locals {
  summary = "api%{if local.multi_az} (multi-AZ)%{endif}"
  mixed   = "${path.module}/conf/%{ if var.prod }prod%{ else }dev%{ endif }.yaml"
  choice  = "%{for k, v in var.tags}${k}=${v},%{endfor}"
  motd    = <<-EOT
    host ${var.name}
    %{if var.environment == "prod"~}
    Production: ${file("${path.module}/prod-banner.txt")}
    %{else~}
    Non-production
    %{endif~}
    %{for k, v in local.common_tags~}
    ${k} = ${v}
    %{endfor~}
    %{ for name in fileset("${path.module}/users", "*.pub") }${name} %{ endfor }
  EOT
}

output "config" {
  value = templatefile("${path.module}/config.tpl", {
    debug = "%{if var.debug}true%{else}false%{endif}"
  })
}
"#,
    // resources, nested blocks, dynamic blocks, heredocs, conditionals, splats, operators
    r#"resource "null_resource" "this" {
  count = var.enabled ? length(var.names) : 0

  triggers = {
    name    = var.names[count.index]
    id      = "${var.prefix}-${count.index}"
    sum     = -1 + 2 * 3 / 4 % 5 - (6 - 7)
    cmp     = var.a >= 1 && var.b <= 2 || !var.c && var.d != 3 && var.e == 4
    float   = 1.5e3 + 2E-2 + 0.25
    splat   = join(",", aws_instance.web.*.id, aws_instance.web[*].id, var.x.0)
    doc     = <<-EOT
      Hello ${var.name}, file ${file("${path.module}/motd")}
      $${literal} and 100%% and %%{not a directive}
    EOT
    raw     = <<EOF
line with "quotes" and \backslash
EOF
  }

  dynamic "setting" {
    for_each = { for k, v in var.settings : k => v if v != null }
    content {
      name  = setting.key
      value = setting.value
    }
  }

  lifecycle { create_before_destroy = true }
  provisioner "local-exec" {}
}

# a comment
// another
/* a block
   comment */
output "ids" {
  value = { for s in var.items : s.name => s.id... }
  description = "Grouped \"ids\" \\ and \t tabs"
}

variable "map" {
  type = map(object({
    a = string, b = optional(number, 3)
  }))
  default = {
    "quoted key" = 1
    plain        = 2, other = 3
    colon        : 4 # trailing
  }
}
"#,
    // newlines inside brackets
    "a = (\n  var.x\n  ? 1\n  : 2\n)\nb = [\n  1,\n  2\n]\n",
    // a file function inside a template inside a function call, and comments in odd places
    r#"data "null_data_source" "x" {
  inputs = {
    body = jsonencode({ a = "${trimspace(file("${path.module}/../b.txt"))}" }) /* tail */
    list = [
      file("${path.module}/one"), # first
      file("${path.module}/two"),
    ]
    args = concat(var.a, var.b...)
  }
}
"#,
    // a chart handed to a wrapper module
    r#"module "echo_server" {
  source  = "cloudposse/helm-release/aws"
  version = "0.10.1"
  chart   = "${path.module}/charts/echo-server"
  values  = [file("${path.module}/values.yaml")]
}
"#,
    // helm releases: local chart directories, remote charts, nested blocks
    r#"resource "helm_release" "local" {
  name  = "api"
  chart = "${path.module}/charts/api"

  set {
    name  = "chart"
    value = "not-a-chart"
  }
}

resource "helm_release" "remote" {
  chart      = "nginx"
  repository = "https://charts.example.com"
}

resource "helm_release" "oci" {
  chart = "oci://registry.example.com/charts/x"
}

resource helm_release one_line { chart = "../../charts/web" }

resource "helm_release" "computed" {
  chart = "${path.module}/charts/${var.name}"
}

resource "null_resource" "chart" {
  chart = "./not/a/release"
}
"#,
];

#[test]
fn common_terraform_is_read_on_the_fast_path_and_agrees() {
    for text in COMMON {
        scanned(text);
    }
}

#[test]
fn facts_match_the_reference_in_detail() {
    let facts = scanned(COMMON[0]);
    let modules: Vec<_> = facts
        .modules
        .iter()
        .map(|m| (m.name.as_str(), m.source.as_str(), m.line))
        .collect();
    assert_eq!(
        modules,
        vec![
            ("vpc", "../../modules/vpc", 2),
            ("net", "./net", 7),
            ("remote", "terraform-aws-modules/vpc/aws", 12),
        ]
    );
    let facts = scanned(COMMON[1]);
    // `deep` is built from another local; `fileset(path.module, var.pattern)` reads below
    // the module directory.
    assert_eq!(facts.path_locals.len(), 4, "{:?}", facts.path_locals);
    assert!(facts.unresolved_refs.is_empty());
    assert_eq!(facts.file_refs.len(), 8, "{:?}", facts.file_refs);
}

#[test]
fn charts_handed_to_modules_are_read() {
    let facts = scanned(COMMON[COMMON.len() - 2]);
    assert_eq!(facts.chart_refs.len(), 1, "{facts:?}");
    assert_eq!(facts.chart_refs[0].path, "/charts/echo-server");
    assert_eq!(facts.chart_refs[0].line, 4);
}

/// A chart under a `chart` key inside a module argument (a map of releases a wrapper module
/// deploys) is read by both readers, as a candidate, in the order written among the
/// module's own `chart`.
#[test]
fn charts_inside_module_arguments_are_read_as_candidates() {
    let text = r#"module "addons" {
  source = "aws-ia/eks-blueprints-addons/aws"
  helm_releases = {
    web = {
      chart = "./charts/web"
    }
    remote = { chart = "karpenter", repository = "oci://x" }
  }
  chart = "${path.module}/charts/own"
  list = [{ "chart" = "${path.module}/charts/api" }]
  names = { chart_name = "./x", charts = "y" }
}
"#;
    let facts = scanned(text);
    let refs: Vec<(PathBase, &str, bool, usize)> = facts
        .chart_refs
        .iter()
        .map(|r| (r.base.clone(), r.path.as_str(), r.candidate, r.line))
        .collect();
    assert_eq!(
        refs,
        vec![
            (PathBase::Root, "./charts/web", true, 3),
            (PathBase::Root, "karpenter", true, 3),
            (PathBase::Module, "/charts/own", false, 9),
            (PathBase::Module, "/charts/api", true, 10),
        ]
    );
    // Escaped keys are left to the reference's reading too.
    assert!(agrees(
        "module \"m\" {\n  source = \"./m\"\n  r = { \"ch\\u0061rt\" = \"./charts/web\" }\n}\n"
    ));
}

#[test]
fn helm_release_charts_are_read_on_the_fast_path() {
    let facts = scanned(COMMON[COMMON.len() - 1]);
    let refs = read_tuples(&facts.chart_refs);
    assert_eq!(
        refs,
        vec![
            (PathBase::Module, "/charts/api", false, 3),
            (PathBase::Root, "nginx", false, 12),
            (PathBase::Root, "../../charts/web", false, 20),
            (PathBase::Module, "/charts/", true, 23),
        ]
    );
}

#[test]
fn malformed_input_is_left_to_the_reference() {
    for text in [
        "variable \"a\" {\n  type = string\n\n  default = \n}\n",
        "resource \"x\" \"y\" {\n  a = 1\n",
        "a = 1\na = 2\n",
        "a = \"\\q\"\n",
        "a = \"unterminated\n",
        "a = <<EOF\nno end\n",
        "a = 1 b = 2\n",
        "block {\n  a = (1\n}\n",
        "a = [1, 2\n",
        "a = f(1,, 2)\n",
        "a = 1e\n",
        "}\n",
        "a = \"${var.x\"\n",
        "a = x.\n",
        "\"label\" {}\n",
        "a = !\n",
        "a = 1 +\n",
        "a = /* open\n",
        "a = \"%{ if x }y\"\n",
        "a = \"%{ endif }\"\n",
        "a = \"%{ for x in y }z%{ endif }\"\n",
        "a = \"%{ if x }a%{ else }b%{ else }c%{ endif }\"\n",
        "a = \"%{ unless x }y%{ endunless }\"\n",
        "a = <<EOF\n%{ if x }\nEOF\n",
    ] {
        given_up(text);
        assert!(parse_tf_reference(text, "t.tf").is_err(), "{text}");
    }
    // What terraform reads and hcl-edit refuses as written (a key given twice in an
    // object): left to the reference too, which reads it (see `hcl/relaxed.rs`).
    let text = "a = { b = 1, b = 2 }\n";
    given_up(text);
    assert!(parse_tf_reference(text, "t.tf").is_ok(), "{text}");
}

/// Locals that hold one of several paths (maps, lists, choices, elements of other locals):
/// read on the fast path, with the candidates the reference records.
const CANDIDATE_LOCALS: &str = r#"locals {
  by_env = {
    dev  = "${path.module}/conf/dev.yaml"
    prod = "${path.root}/conf/prod.yaml"
    name = "not-a-path"
  }
  list     = ["${path.module}/a", var.b, "${path.module}/${var.c}"]
  chosen   = local.by_env[var.environment]
  deeper   = local.settings.by_env[var.environment].file
  fallback = try(local.by_env[var.env], "${path.module}/conf/default.yaml")
  picked   = lookup(local.by_env, var.env, local.list[0])
  merged   = coalesce(var.x, "${path.module}/${local.sub}/x", local.list[1])
  content  = { a = file("${path.module}/inline.txt"), b = local.by_env }
  loop     = [for k, v in local.by_env : "${path.module}/${v}"]
  settings = { by_env = local.by_env }
  sum      = local.count + 1
  tags     = merge(local.common, { Name = "x" })
  cond     = var.on ? local.by_env["dev"] : null
  relative = coalesce(var.t, "../../shared/a.tpl")
  wrapped  = "${coalesce(var.x, local.by_env[var.e])}"
  cond_rel = var.flag ? "../../shared/a.tpl" : "../../shared/b.tpl"
  cond_par = (var.flag ? "${path.module}/a.tpl" : "${path.module}/b.tpl")
  inline   = { a = "../../shared/a.tpl", b = "../../shared/b.tpl" }[var.x]
  numbers  = var.big ? 3 : 1
  named    = "${var.env}-${local.suffix}"
  rel_map  = { web = "./templates/web.tpl", name = "web" }
  nested   = var.a == "x" && local.on ? local.by_env.dev : (var.b ? local.list[1] : element(local.list, 2))
  skipped  = try(file(local.p), local.q)
}
"#;

/// Decoded files, a joined path and a command line, for the edited-file comparison.
const DECODES_AND_COMMANDS: &str = r#"locals {
  decoded  = try(yamldecode(file("${path.module}/c.yaml")), { template = "${path.module}/d.tpl" })
  rendered = jsondecode(templatefile("./c.json.tpl", { e = var.e }))
  joined   = join("/", [path.module, "..", "shared"])
}

resource "null_resource" "r" {
  provisioner "local-exec" {
    command = "bash ${path.module}/run.sh ./x.json --c=${local.dir}/c.yaml"
  }
}
"#;

#[test]
fn a_read_in_the_collection_of_a_for_directive_is_a_read() {
    let text = "locals {\n  keys = <<-EOT\n    %{ for f in fileset(\"${path.module}/keys\", \"*.pub\") }${f}%{ endfor }\n  EOT\n}\n";
    let facts = scanned(text);
    let reads: Vec<_> = facts
        .file_refs
        .iter()
        .map(|r| {
            (
                r.function.as_str(),
                r.path.as_str(),
                r.pattern.as_deref(),
                r.line,
            )
        })
        .collect();
    assert_eq!(reads, [("fileset", "/keys", Some("*.pub"), 3)]);
}

#[test]
fn locals_holding_one_of_several_paths_are_read_on_the_fast_path() {
    let facts = scanned(CANDIDATE_LOCALS);
    let locals: Vec<_> = facts
        .path_locals
        .iter()
        .map(|l| (l.name.as_str(), l.path.as_str(), l.candidate))
        .collect();
    // Spot checks beside the agreement `scanned` asserts: maps and lists give their path
    // templates and the locals they name, choices and elements the locals they name; other
    // forms give nothing.
    assert!(
        locals.contains(&("by_env", "/conf/dev.yaml", true)),
        "{locals:?}"
    );
    assert!(locals.contains(&("chosen", "", true)), "{locals:?}");
    assert!(
        locals.contains(&("fallback", "/conf/default.yaml", true)),
        "{locals:?}"
    );
    // A literal that starts with `./` or `../` is a path relative to the root module.
    assert!(
        locals.contains(&("relative", "../../shared/a.tpl", true)),
        "{locals:?}"
    );
    assert!(
        locals.contains(&("rel_map", "./templates/web.tpl", true)),
        "{locals:?}"
    );
    assert!(locals.iter().all(|l| l.1 != "web"), "a name is no path");
    // `"${X}"` is X (terraform 0.11's form, and every expression in `*.tf.json`).
    assert!(locals.contains(&("wrapped", "", true)), "{locals:?}");
    for (name, path) in [
        ("cond_rel", "../../shared/b.tpl"),
        ("cond_par", "/b.tpl"),
        ("inline", "../../shared/a.tpl"),
    ] {
        assert!(locals.contains(&(name, path, true)), "{name}: {locals:?}");
    }
    assert!(locals.iter().all(|l| l.0 != "numbers"), "{locals:?}");
    assert!(locals.iter().all(|l| l.0 != "named"), "{locals:?}");
    // A conditional is a choice between its branches (here an element of `by_env`).
    assert!(locals.contains(&("cond", "", true)), "{locals:?}");
    // Not its condition, nor a file function's argument.
    let named = |name: &str| -> Vec<String> {
        facts
            .path_locals
            .iter()
            .filter(|l| l.name == name)
            .map(|l| format!("{:?}", l.base))
            .collect()
    };
    assert_eq!(
        named("nested"),
        [r#"Local("by_env")"#, r#"Local("list")"#, r#"Local("list")"#]
    );
    assert_eq!(named("skipped"), [r#"Local("q")"#]);
    // A map merged from another local's holds what that one holds.
    assert_eq!(named("tags"), [r#"Local("common")"#]);
    // So does a `for` expression over it (and the module directory its values name).
    assert_eq!(named("loop"), [r#"Local("by_env")"#, "Module"]);
    assert!(
        locals.iter().all(|l| l.0 != "sum"),
        "sum has no candidates: {locals:?}"
    );
    assert_eq!(facts.file_refs.len(), 2, "the file() calls are reads");
}

/// Reads strata cannot resolve: the scanner leaves the file to the reference reader, which
/// collects the paths written inside the argument as candidates.
#[test]
fn unresolved_reads_are_left_to_the_reference_which_finds_candidates() {
    let text = r#"locals {
  by_type = {
    AL2    = "${path.module}/../../templates/al2.tpl"
    AL2023 = "${path.module}/../../templates/al2023.tpl"
  }
  chosen = coalesce(var.template, local.by_type[var.ami_type])
  content = file("${path.module}/x.txt")
}

output "a" {
  value = templatefile(coalesce(var.t, "${path.module}/../../templates/default.tpl"), {})
}

output "b" {
  value = templatefile(local.chosen, {})
}

output "c" {
  value = file(var.path)
}

output "d" {
  value = jsondecode(file(format("%s/x.json", path.module)))
}

output "e" {
  value = file()
}

output "f" {
  value = templatefile(var.on ? "../../shared/on.tpl" : "${path.module}/off.tpl", {})
}
"#;
    given_up(text);
    let facts = parse_tf_reference(text, "t.tf").unwrap();
    // `templatefile(local.chosen, {})` is a read through a local: resolved (or not) later,
    // from the local's candidates. `format("%s/x.json", path.module)` is read as
    // `"${path.module}/x.json"` is.
    assert_eq!(facts.unresolved_refs, vec![11, 19, 27, 31]);
    assert!(facts.file_refs.iter().any(|r| r.line == 23
        && r.path == "/x.json"
        && r.base == PathBase::Module
        && !r.candidate));
    let candidates: Vec<_> = facts
        .file_refs
        .iter()
        .filter(|r| r.candidate)
        .map(|r| (r.base.clone(), r.path.as_str(), r.line))
        .collect();
    assert_eq!(
        candidates,
        vec![
            (PathBase::Local("var.t".into()), "", 11),
            (PathBase::Module, "/../../templates/default.tpl", 11),
            (PathBase::Local("var.path".into()), "", 19),
            (PathBase::Root, "../../shared/on.tpl", 31),
            (PathBase::Module, "/off.tpl", 31),
        ]
    );
    // The map's values are candidates of `by_type`, and `chosen` (a choice) names
    // `by_type`; the file's content in `content` is not a path.
    let locals = local_facts(&facts);
    assert_eq!(
        locals,
        vec![
            (
                "by_type",
                PathBase::Module,
                "/../../templates/al2.tpl",
                true
            ),
            (
                "by_type",
                PathBase::Module,
                "/../../templates/al2023.tpl",
                true
            ),
            ("chosen", PathBase::Local("by_type".into()), "", true),
        ]
    );
}

#[test]
fn unusual_but_valid_input_is_left_to_the_reference() {
    for text in [
        "a = 1\r\n",
        "a = \"x %{~ if true }y%{ endif }\"\n",
        "module \"m\" { source = \"./m\" }\n",
        "ünï = 1\n",
    ] {
        given_up(text);
        assert!(parse_tf_reference(text, "t.tf").is_ok(), "{text}");
    }
}

/// A local that decodes files (`yamldecode(file(P))`, `jsondecode(templatefile(P, {}))`,
/// anywhere in its value) records each decoded file, as the reference does; a path with a
/// computed tail is recorded as a prefix. A decoded value that is no file's records nothing.
#[test]
fn a_local_set_to_a_decoded_file_is_recorded() {
    let text = r#"locals {
  cfg   = yamldecode(file("${path.module}/config.yaml"))
  raw   = jsondecode(file("./raw.json"))
  wrap  = "${yamldecode(file("./w.yaml"))}"
  dyn   = yamldecode(file("${path.module}/${var.env}.yaml"))
  tpl   = yamldecode(templatefile("${path.module}/v.yaml.tpl", { env = var.env }))
  layer = merge(try(yamldecode(file("./base.yaml")), {}), jsondecode(file("${path.module}/x.json")))
  each  = { for f in fileset(path.module, "conf/*.yaml") : f => yamldecode(file("${path.module}/conf/${f}")) }
  both  = var.x ? yamldecode(file("./a.yaml")) : "${path.module}/b.yaml"
}
"#;
    let facts = scanned(text);
    let decoded: Vec<_> = facts
        .decoded_locals
        .iter()
        .map(|d| (d.name.as_str(), d.base.clone(), d.path.as_str(), d.prefix))
        .collect();
    assert!(facts
        .decoded_locals
        .iter()
        .all(|d| d.kind == Decoding::Decoded));
    assert_eq!(
        decoded,
        [
            ("cfg", PathBase::Module, "/config.yaml", false),
            ("raw", PathBase::Root, "./raw.json", false),
            ("wrap", PathBase::Root, "./w.yaml", false),
            ("dyn", PathBase::Module, "/", true),
            ("tpl", PathBase::Module, "/v.yaml.tpl", false),
            ("layer", PathBase::Root, "./base.yaml", false),
            ("layer", PathBase::Module, "/x.json", false),
            ("each", PathBase::Module, "/conf/", true),
            ("both", PathBase::Root, "./a.yaml", false),
        ]
    );
    // A choice between a decoded file and a path holds that path too.
    assert_eq!(
        local_facts(&facts),
        vec![("both", PathBase::Module, "/b.yaml", true)]
    );
    // A local set to a file read holds its text, and a decoding of a local names that local
    // (followed across the module's files when the edges are drawn).
    let via = "locals {\n  raw = file(\"${path.module}/r.yaml\")\n  cfg = yamldecode(local.raw)\n  tpl = \"${templatefile(\"./t.json\", {})}\"\n}\n";
    let facts = scanned(via);
    let decoding = |name: &str, base: PathBase, path: &str, kind| DecodedLocal {
        name: name.into(),
        base,
        path: path.into(),
        prefix: false,
        kind,
    };
    assert_eq!(
        facts.decoded_locals,
        vec![
            decoding("raw", PathBase::Module, "/r.yaml", Decoding::Text),
            decoding("cfg", PathBase::Local("raw".into()), "", Decoding::OfLocal),
            decoding("tpl", PathBase::Root, "./t.json", Decoding::Text),
        ]
    );
}

/// A computed object key (`(local.name) = ...`, `"${local.arn}" = ...`) is read on the fast
/// path, one per object; the reference refuses a computed key written twice, so an object
/// with two is left to it.
#[test]
fn computed_object_keys_are_read_one_per_object() {
    let text = "module \"m\" {\n  source  = \"./m\"\n  allowed = { (local.account) = each.value.teams, other = 1 }\n  arns    = {\n    \"${local.arn}\" = [file(\"${path.module}/a.json\")]\n  }\n}\n";
    let facts = scanned(text);
    assert_eq!(facts.file_refs.len(), 1, "{facts:?}");
    let twice = "locals {\n  a = { (local.k) = 1, (local.k) = 2 }\n}\n";
    given_up(twice);
    assert!(parse_tf_reference(twice, "t.tf").is_err());
    let two = "locals {\n  a = { (local.k) = 1, (local.j) = 2 }\n}\n";
    given_up(two);
    assert!(parse_tf_reference(two, "t.tf").is_ok());
}

/// A name written twice in a body or an object is given up on (the reference refuses it),
/// also among many keys, which are kept in a set; the same name in a nested body or object
/// is no repeat, before and after the nested one ends.
#[test]
fn a_key_written_twice_among_many_is_given_up_on() {
    let many = |extra: &str| {
        let keys: String = (0..40).map(|i| format!("  k{i} = {i}\n")).collect();
        format!(
            "locals {{\n{keys}  nested = {{\n{}  }}\n  after = 1\n{extra}}}\n",
            (0..20)
                .map(|i| format!("    k{i} = {i}\n"))
                .collect::<String>()
        )
    };
    let fine = many("");
    assert!(scan(&fine).is_some(), "{fine}");
    assert!(parse_tf_reference(&fine, "t.tf").is_ok());
    for repeat in ["  k3 = 1\n", "  after = 2\n", "  nested = 3\n"] {
        let twice = many(repeat);
        given_up(&twice);
        assert!(parse_tf_reference(&twice, "t.tf").is_err(), "{twice}");
    }
    // Many keys in one object, one written twice.
    let object: String = (0..30).map(|i| format!("k{i} = {i}, ")).collect();
    given_up(&format!("locals {{\n  o = {{ {object}k7 = 0 }}\n}}\n"));
    assert!(scan(&format!("locals {{\n  o = {{ {object}k70 = 0 }}\n}}\n")).is_some());
}

/// Every `.tf` file in this repository (the sample workspace, the policy corpus).
fn repository_corpus() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    collect_tf(root, &mut files);
    assert!(files.len() >= 50, "found only {} .tf files", files.len());
    files
}

fn collect_tf(dir: &Path, files: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') && !matches!(name.as_ref(), "target" | "out" | "node_modules")
            {
                collect_tf(&path, files);
            }
        } else if name.ends_with(".tf") {
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.push((path, text));
            }
        }
    }
}

#[test]
fn the_repository_corpus_agrees_and_is_mostly_read_on_the_fast_path() {
    let corpus = repository_corpus();
    let fast = corpus.iter().filter(|(_, text)| agrees(text)).count();
    let slow: Vec<_> = corpus
        .iter()
        .filter(|(_, text)| scan(text).is_none())
        .map(|(path, _)| path.display().to_string())
        .collect();
    println!("{fast} of {} files read on the fast path", corpus.len());
    assert!(
        fast * 10 >= corpus.len() * 9,
        "only {fast} of {} files on the fast path; given up on: {slow:#?}",
        corpus.len()
    );
}

/// Small edits at spread-out places of a valid file: each must either make the scanner give
/// up or be read exactly as the reference reads it.
fn mutants(text: &str, positions: usize, every_insert: bool) -> Vec<String> {
    const INSERTS: &[&str] = &[
        "{", "}", "\"", "\n", "=", ",", "(", ")", "[", "]", "${", "#", ".", "?", "-", "<<EOF\n",
        "/*", "\\", "%{", ":", "*", "!", "..", "=>", "for ", " if ", "\t", "~", "$${", "1e",
    ];
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    let step = (boundaries.len() / positions).max(1);
    let mut out = Vec::new();
    for (n, &i) in boundaries.iter().step_by(step).enumerate() {
        let inserts = if every_insert {
            INSERTS.to_vec()
        } else {
            vec![
                INSERTS[n % INSERTS.len()],
                INSERTS[(n * 7 + 3) % INSERTS.len()],
            ]
        };
        for insert in inserts {
            out.push(format!("{}{}{}", &text[..i], insert, &text[i..]));
        }
        if let Some(next) = text[i..].chars().next() {
            out.push(format!("{}{}", &text[..i], &text[i + next.len_utf8()..]));
        }
    }
    out
}

#[test]
fn mutated_files_are_read_as_the_reference_reads_them_or_given_up() {
    // STRATA_SCAN_MUTATIONS=N edits N places per file, with every insertion at each, for a
    // longer run by hand.
    let long: Option<usize> = std::env::var("STRATA_SCAN_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok());
    let positions = long.unwrap_or(40);
    let mut texts: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    texts.push(CANDIDATE_LOCALS.to_string());
    texts.push(DECODES_AND_COMMANDS.to_string());
    texts.extend(repository_corpus().into_iter().map(|(_, text)| text));
    let (mut accepted, mut total) = (0, 0);
    for text in &texts {
        for mutant in mutants(text, positions, long.is_some()) {
            total += 1;
            if scan(&mutant).is_some() && parse_tf_reference(&mutant, "t.tf").is_err() {
                let at = text
                    .bytes()
                    .zip(mutant.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(text.len());
                let from = text[..at].rfind('\n').map_or(0, |i| i + 1);
                panic!(
                    "accepted an edit the reference rejects, at byte {at}: {:?} became {:?}",
                    &text[from..(at + 40).min(text.len())],
                    &mutant[from..(at + 40).min(mutant.len())]
                );
            }
            if agrees(&mutant) {
                accepted += 1;
            }
            assert_eq!(
                scan(&mutant),
                scan_with(&mutant, false),
                "the shortcut for simple values changes what is read:\n{mutant}"
            );
        }
    }
    println!("{accepted} of {total} edited files read on the fast path");
    // Most edits break the file; many (a comment, a newline) do not, and those must agree.
    assert!(accepted > 0 && accepted < total, "{accepted} of {total}");
}

/// A whole workspace, by hand: STRATA_HCL_CORPUS=/path/to/workspace cargo test --release -p
/// strata-graph external_corpus -- --ignored --nocapture
#[test]
#[ignore]
fn external_corpus_agrees() {
    let dir = std::env::var("STRATA_HCL_CORPUS").expect("STRATA_HCL_CORPUS names a directory");
    let mut files = Vec::new();
    collect_tf(Path::new(&dir), &mut files);
    let fast = files.iter().filter(|(_, text)| agrees(text)).count();
    println!("{fast} of {} files read on the fast path", files.len());
    for (path, text) in &files {
        assert_eq!(scan(text), scan_with(text, false), "{}", path.display());
    }
}

/// Throughput of fact extraction on a whole workspace, one thread, the files already in
/// memory (bench/scan_throughput.sh runs it): the scanner alone, `parse_tf` (the scanner
/// and the reference parser where it gives up), and the git blob id every file read also
/// gets. Best of ten passes each.
#[test]
#[ignore]
fn corpus_throughput() {
    let dir = std::env::var("STRATA_HCL_CORPUS").expect("STRATA_HCL_CORPUS names a directory");
    let mut files = Vec::new();
    collect_tf(Path::new(&dir), &mut files);
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let best = |f: &dyn Fn(&str) -> usize| {
        (0..10)
            .map(|_| {
                let started = std::time::Instant::now();
                let mut sink = 0;
                for (_, text) in &files {
                    sink += f(text);
                }
                std::hint::black_box(sink);
                started.elapsed()
            })
            .min()
            .expect("ten passes")
    };
    let report = |what: &str, took: std::time::Duration| {
        let mbps = bytes as f64 / 1e6 / took.as_secs_f64();
        println!("{what}: {:.1} ms, {mbps:.0} MB/s", took.as_secs_f64() * 1e3);
    };
    println!("{} files, {:.1} MB", files.len(), bytes as f64 / 1e6);
    let fast = files.iter().filter(|(_, t)| scan(t).is_some()).count();
    println!("{fast} on the scanner's path");
    report(
        "scan",
        best(&|t| scan(t).map_or(0, |f| f.modules.len() + 1)),
    );
    report(
        "parse_tf",
        best(&|t| crate::hcl::parse_tf(t, "t.tf").map_or(0, |f| f.modules.len() + 1)),
    );
    report(
        "blob id",
        best(&|t| crate::digest::FileId::of_content(t.as_bytes()).0[0] as usize),
    );
    report(
        "utf-8 check",
        best(&|t| std::str::from_utf8(t.as_bytes()).map_or(0, str::len)),
    );
}

/// The shortcut for simple values (`Scanner::simple_expr`) must stop exactly where the
/// general path would: at whatever can continue an expression after a string, a number
/// or a variable.
#[test]
fn simple_values_end_where_the_general_path_ends_them() {
    let values = [
        r#""plain""#,
        "var.x ? 1 : 2",
        "var.x?1:2",
        "local.m.k",
        "local.m [\"k\"]",
        "var . x",
        "var.x.*.id",
        "var.x[0]",
        "1.5",
        "1e3",
        "12345678901234567890",
        "x == y",
        "x==y",
        "x = y",
        "x => y",
        "x ::y",
        "provider::p::f(1)",
        "null",
        "true && false",
        r#""a" + "b""#,
        "var.x # comment",
        "var.x // comment",
        "var.x /* comment */",
        "var.x /* comment */ + 1",
        "var.x\n  .y",
        "var.x\n  ? 1 : 2",
        "var.x\n  # comment\n  + 1",
        "try(local.a.b, local.c)",
        "local.a...",
    ];
    for value in values {
        for wrap in [
            "a = {v}\n",
            "a = [{v}]\n",
            "a = [\n  {v},\n  x\n]\n",
            "a = f({v}, {v})\n",
            "a = {{ k = {v} }}\n",
            "a = {{ k: {v}, j: 1 }}\n",
            "a = {{ ({v}) = 1 }}\n",
            "a = [for k, v in {v} : {v}]\n",
            "a = {{ for k, v in {v} : {v} => {v} }}\n",
            "a = c ? {v} : {v}\n",
            "b {{ a = {v} }}\n",
            "locals {{\n  a = {v}\n}}\n",
        ] {
            let text = wrap
                .replace("{v}", value)
                .replace("{{", "{")
                .replace("}}", "}");
            agrees(&text);
            assert_eq!(
                scan(&text),
                scan_with(&text, false),
                "the shortcut changes what is read:\n{text}"
            );
        }
    }
    // Common values stay on the fast path.
    for text in [
        "a = var.x\n",
        "a = \"x\" # c\n",
        "a = 3\nb = [1, 2]\n",
        "a = { k = local.v, j = \"s\" }\n",
    ] {
        scanned(text);
    }
}

#[test]
fn a_newline_inside_an_interpolation_or_a_directive_is_left_to_the_reference() {
    for text in [
        "a = \"x%{ if var\n.prod }y%{ endif }\"\n",
        "a = \"${var\n.x}\"\n",
        "a = \"${\nvar.x}\"\n",
        "a = <<EOT\n%{ if var\n.prod }y%{ endif }\nEOT\n",
        "a = <<EOT\n${var\n.x}\nEOT\n",
    ] {
        given_up(text);
    }
    // A heredoc's text spans lines.
    scanned("a = <<EOT\n%{ if var.prod }\ny\n%{ endif }\n${var.x}\nEOT\n");
}

/// A `chart` chosen among written paths is read with the reference's rules, which record
/// each path as a candidate; the rest of the file stays on the fast path.
#[test]
fn a_chart_chosen_among_paths_is_read_with_the_reference_rules() {
    let choice = "resource \"helm_release\" \"web\" {\n  name  = \"web\"\n  chart = var.canary ? \"../../charts/web-canary\" : \"${path.module}/charts/web\"\n}\n";
    let facts = scanned(choice);
    let refs: Vec<_> = facts
        .chart_refs
        .iter()
        .map(|r| (r.base.clone(), r.path.as_str(), r.candidate, r.line))
        .collect();
    assert_eq!(
        refs,
        vec![
            (PathBase::Root, "../../charts/web-canary", true, 3),
            (PathBase::Module, "/charts/web", true, 3),
        ]
    );
    // A variable may hold a path through its default; so in a wrapper module's `chart`.
    let var = "resource \"helm_release\" \"x\" {\n  chart = var.chart\n}\n\nmodule \"m\" {\n  source = \"cloudposse/helm-release/aws\"\n  chart  = var.chart\n  name   = module.this.name\n}\n";
    let facts = scanned(var);
    let bases: Vec<_> = facts.chart_refs.iter().map(|r| (&r.base, r.line)).collect();
    let chart = PathBase::Local("var.chart".into());
    assert_eq!(bases, [(&chart, 2), (&chart, 7)]);
    for plain in ["\"nginx\"", "\"oci://registry/x\""] {
        let text = format!("resource \"helm_release\" \"x\" {{\n  chart = {plain}\n}}\n");
        let facts = scanned(&text);
        assert!(facts.chart_refs.iter().all(|r| !r.candidate), "{text}");
    }
}

/// `abspath(path.root)` and `abspath(path.module)` name the directories `path.root` and
/// `path.module` do: the reference reads them so, and the scanner leaves them to it.
#[test]
fn abspath_of_a_path_variable_is_that_path_variable() {
    let text = "locals {\n  v = file(\"${abspath(path.root)}/../../shared/ab.txt\")\n  dir = \"${abspath(path.module)}/conf\"\n}\n";
    given_up(text);
    let facts = parse_tf_reference(text, "t.tf").unwrap();
    let reads: Vec<_> = facts
        .file_refs
        .iter()
        .map(|r| (r.base.clone(), r.path.as_str(), r.candidate))
        .collect();
    assert_eq!(reads, vec![(PathBase::Root, "/../../shared/ab.txt", false)]);
    assert!(
        facts.unresolved_refs.is_empty(),
        "{:?}",
        facts.unresolved_refs
    );
    assert_eq!(facts.path_locals[0].base, PathBase::Module);
    assert_eq!(facts.path_locals[0].path, "/conf");
}

/// A variable whose default holds a `/` is a candidate path under the name `var.<name>`:
/// read on the fast path, as the reference reads it.
#[test]
fn variable_defaults_that_may_be_paths_are_candidates() {
    let text = "variable \"policy_file\" {\n  type    = string\n  default = \"../../shared/policy.json\"\n}\n\nvariable \"region\" {\n  default = \"eu-west-1\"\n}\n\nvariable \"chart\" { default = \"./charts/web\" }\n";
    let facts = scanned(text);
    let got: Vec<_> = facts
        .path_locals
        .iter()
        .map(|l| (l.name.as_str(), l.path.as_str(), l.candidate))
        .collect();
    assert_eq!(
        got,
        vec![
            ("var.policy_file", "../../shared/policy.json", true),
            ("var.chart", "./charts/web", true),
        ]
    );
    // A read of the variable is left to the reference, which names it as a candidate.
    let read = "output \"p\" {\n  value = file(var.policy_file)\n}\n";
    given_up(read);
    let facts = parse_tf_reference(read, "t.tf").unwrap();
    assert_eq!(facts.unresolved_refs, vec![2]);
    assert!(
        facts
            .file_refs
            .iter()
            .any(|r| r.candidate && r.base == crate::hcl::PathBase::Local("var.policy_file".into())),
        "{:?}",
        facts.file_refs
    );
}

/// `locals { p = var.p }` may hold the variable's default: the local is a candidate naming
/// `var.p`, on the fast path as in the reference.
#[test]
fn a_local_set_to_a_variable_may_hold_its_default() {
    let text = "locals {\n  policy = var.policy_file\n  name   = \"x\"\n  deep   = var.a.b\n}\n";
    let facts = scanned(text);
    let got = local_facts(&facts);
    assert_eq!(
        got,
        vec![
            (
                "policy",
                PathBase::Local("var.policy_file".into()),
                "",
                true
            ),
            ("name", PathBase::Root, "x", false),
        ]
    );
    // Written as `"${var.p}"` (terraform 0.11), the reference reads the same.
    let wrapped = "locals {\n  policy = \"${var.policy_file}\"\n}\n";
    let facts = parse_tf_reference(wrapped, "t.tf").unwrap();
    assert_eq!(facts.path_locals.len(), 1, "{facts:?}");
    assert_eq!(
        facts.path_locals[0].base,
        PathBase::Local("var.policy_file".into())
    );
    assert!(!agrees(wrapped) || scan(wrapped).unwrap() == facts);
}

/// Paths handed to a module in its arguments are candidates of the caller, read on the fast
/// path for static paths and by the reference for collections and choices; names, bare
/// directories, locals and variables on their own give nothing.
#[test]
fn paths_handed_to_a_module_are_module_arguments() {
    let text = r#"module "m" {
  source      = "../../modules/m"
  policy_file = "${path.module}/../../shared/policy.json"
  templates   = "./templates/${var.env}"
  root_conf   = "${path.root}/conf.yaml"
  dir         = "${local.shared}/x.json"
  label       = "${local.name}-cdn"
  name        = "svc/a"
  here        = path.module
  tags        = local.tags
  vpc_id      = var.vpc_id
  count       = var.enabled ? 1 : 0
  absolute    = "/etc/hosts"
  for_each    = toset(["./a.json"])
}
"#;
    let facts = scanned(text);
    let got = read_tuples(facts.module_args());
    assert_eq!(
        got,
        vec![
            (PathBase::Module, "/../../shared/policy.json", false, 3),
            (PathBase::Root, "./templates/", true, 4),
            (PathBase::Root, "/conf.yaml", false, 5),
            (PathBase::Local("shared".into()), "/x.json", false, 6),
            (PathBase::Root, "./a.json", true, 14),
        ]
    );
    assert!(facts.module_args().all(|r| r.candidate));
    // Collections and choices of paths: read with the reference's rules.
    let collection = "module \"m\" {\n  source = \"./m\"\n  files  = [\"${path.module}/a.json\", \"../b.json\", \"name\"]\n  pick   = var.x ? \"./c.json\" : \"./d.json\"\n  plain  = { a = 1 }\n}\n";
    let facts = scanned(collection);
    let got: Vec<_> = facts
        .module_args()
        .map(|r| (r.base.clone(), r.path.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (PathBase::Module, "/a.json"),
            (PathBase::Root, "../b.json"),
            (PathBase::Root, "./c.json"),
            (PathBase::Root, "./d.json"),
        ]
    );
    // Without a path in them, collections and conditionals stay on the fast path.
    let plain =
        "module \"m\" {\n  source = \"./m\"\n  tags   = { a = 1 }\n  n      = var.x ? 1 : 0\n}\n";
    assert!(scanned(plain).module_args().next().is_none());
}

/// The paths handed to modules and providers: (function, base, path, line).
fn path_arguments(facts: &HclFacts) -> Vec<(&str, PathBase, &str, usize)> {
    facts
        .file_refs
        .iter()
        .filter(|r| r.is_path_argument())
        .map(|r| (r.function.as_str(), r.base.clone(), r.path.as_str(), r.line))
        .collect()
}

/// Values the scanner once accepted while recording less than the reference: escapes that
/// decode to a relative path, whitespace or comments inside an interpolation's traversal,
/// a relative path that `format` builds from literals. Each is now read as the reference
/// reads it (or left to it).
#[test]
fn what_is_handed_over_is_read_as_the_reference_reads_it_in_unusual_spellings() {
    let values = [
        r#"["\u002e/x"]"#,
        r#"["\u002e\u002e/x"]"#,
        r#"["${local .d}/x"]"#,
        r#""${var .d}/x""#,
        r#""${var/*c*/.d}/x""#,
        r#"["${/*c*/ local.d}/x"]"#,
        r#"["${path/*c*/.module}/x"]"#,
        r#"format(".%s/x", "")"#,
        r#"["${aws_s3_bucket.b.arn}/*"]"#,
    ];
    for value in values {
        for block in [
            "module \"m\" {\n  source = \"./m\"\n",
            "resource \"r\" \"n\" {\n",
            "locals {\n",
        ] {
            let text = format!("{block}  a = {value}\n}}\n");
            agrees(&text);
            let reference = parse_tf_reference(&text, "t.tf").unwrap();
            if let Some(fast) = scan(&text) {
                assert_eq!(fast, reference, "{text}");
            }
        }
    }
}

/// A local or a variable on its own is handed over as a path only in an argument named as
/// one holding a path (`source_dir = local.src`, `policy_file = "${var.p}"`), not in
/// others (`tags = local.tags`), the same way by both readers.
#[test]
fn a_name_on_its_own_is_handed_over_only_under_a_path_name() {
    for block in [
        "module \"m\" {\n  source = \"./m\"\n",
        "data \"archive_file\" \"n\" {\n",
        "provider \"p\" {\n",
    ] {
        for (line, expected) in [
            (
                "source_dir = local.src",
                Some(PathBase::Local("src".into())),
            ),
            (
                "policy_file = \"${var.p}\"",
                Some(PathBase::Local("var.p".into())),
            ),
            (
                "config_path = var.kubeconfig",
                Some(PathBase::Local("var.kubeconfig".into())),
            ),
            ("tags = local.tags", None),
            ("name = var.name", None),
            ("source_dir = path.module", None),
            // An element of a local or a variable: any of its paths.
            (
                "policy_file = local.files[count.index]",
                Some(PathBase::Local("files".into())),
            ),
            (
                "source_dir = \"${local.cfg.src}\"",
                Some(PathBase::Local("cfg".into())),
            ),
            (
                "config_path = var.paths[\"kube\"]",
                Some(PathBase::Local("var.paths".into())),
            ),
            ("tags = local.tags[\"a\"]", None),
        ] {
            let text = format!("{block}  {line}\n}}\n");
            let facts = scanned(&text);
            let got: Vec<_> = path_arguments(&facts)
                .into_iter()
                .map(|(_, b, _, _)| b)
                .collect();
            assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{text}");
        }
        // A choice, a conditional, a list or `abspath` under a path name: every local or
        // variable it may be.
        for (line, expected) in [
            ("source_dir = local.on ? local.a : local.b", vec!["a", "b"]),
            (
                "source_dir = coalesce(var.source_dir, \"x\")",
                vec!["var.source_dir"],
            ),
            ("source_dir = abspath(var.dir)", vec!["var.dir"]),
            ("config_files = [var.a, local.b]", vec!["var.a", "b"]),
            (
                "source_dir = try(var.cfg.source_dir, var.fallback)",
                vec!["var.cfg", "var.fallback"],
            ),
            ("name = coalesce(var.name, \"x\")", vec![]),
        ] {
            let text = format!("{block}  {line}\n}}\n");
            let facts = scanned(&text);
            let got: Vec<_> = path_arguments(&facts)
                .into_iter()
                .map(|(_, b, _, _)| b)
                .collect();
            let expected: Vec<_> = expected
                .into_iter()
                .map(|n| PathBase::Local(n.to_string()))
                .collect();
            assert_eq!(got, expected, "{text}");
        }
    }
}

/// The arguments of `resource` and `data` blocks, nested blocks included, hand their paths to
/// the provider (`source_dir` of an `archive_file`, a script in `external`'s `program`, a
/// `provisioner "file"`'s `source`), read as the reference reads them; names, and a
/// `helm_release`'s own `chart` (a chart reference), give none.
#[test]
fn resource_arguments_that_are_paths_are_read_as_the_reference_reads_them() {
    let text = r#"data "archive_file" "lambda" {
  type        = "zip"
  source_dir  = "${path.module}/../../src/lambda"
  output_path = "${path.module}/lambda.zip"
}

data "external" "x" {
  program = ["python3", "${path.module}/scripts/x.py"]
}

resource "aws_s3_object" "o" {
  bucket = "${local.name}-assets"
  key    = "a/b.json"
  source = "./files/b.json"
  tags   = local.tags
  provisioner "file" {
    source      = "${path.root}/conf"
    destination = "/etc/conf"
  }
}

resource "helm_release" "web" {
  chart  = "../../charts/web"
  values = ["./values.yaml"]
}
"#;
    let facts = scanned(text);
    let got = path_arguments(&facts);
    let arg = "provider argument";
    assert_eq!(
        got,
        vec![
            (arg, PathBase::Module, "/../../src/lambda", 3),
            (arg, PathBase::Module, "/lambda.zip", 4),
            (arg, PathBase::Module, "/scripts/x.py", 8),
            (arg, PathBase::Root, "./files/b.json", 14),
            (arg, PathBase::Root, "/conf", 17),
            (arg, PathBase::Root, "./values.yaml", 24),
        ]
    );
    assert!(facts.module_args().next().is_none());
    assert_eq!(facts.chart_refs.len(), 1);

    // A provider's arguments, paths below a local or a variable written inside a list or
    // an object, and a helm_template's chart.
    let text = r#"provider "kubernetes" {
  config_path = "../../shared/kubeconfig"
}

module "lambda" {
  source      = "terraform-aws-modules/lambda/aws"
  source_path = [{ path = "${local.src}/fn", pip = true }]
  scripts     = ["${var.dir}/a.py", "${local.name}-b"]
}

data "helm_template" "x" {
  chart = "../../charts/x"
}
"#;
    let facts = scanned(text);
    let got = path_arguments(&facts);
    assert_eq!(
        got,
        vec![
            (
                "provider argument",
                PathBase::Root,
                "../../shared/kubeconfig",
                2
            ),
            ("module argument", PathBase::Local("src".into()), "/fn", 7),
            (
                "module argument",
                PathBase::Local("var.dir".into()),
                "/a.py",
                8
            ),
        ]
    );
    assert_eq!(facts.chart_refs.len(), 1);
}

/// `ephemeral` blocks, and the `data` blocks of a `check` (not its other blocks), hand their
/// paths to providers as top-level `resource` and `data` blocks do.
#[test]
fn ephemeral_blocks_and_the_data_blocks_of_checks_hand_paths_to_providers() {
    let text = r#"ephemeral "local_file" "key" {
  filename = "${path.module}/../../secrets/key.pem"
}

check "health" {
  data "local_file" "expected" {
    filename = "./expected.json"
  }

  assert {
    condition     = data.local_file.expected.content != ""
    error_message = "./not-a-path.json"
  }
}

check "chart" {
  data "helm_template" "x" {
    chart = "../../charts/x"
  }
}

other "x" {
  data "local_file" "not_read" {
    filename = "./other.json"
  }
}
"#;
    let facts = scanned(text);
    let arg = "provider argument";
    assert_eq!(
        path_arguments(&facts),
        vec![
            (arg, PathBase::Module, "/../../secrets/key.pem", 2),
            (arg, PathBase::Root, "./expected.json", 7),
        ]
    );
    assert_eq!(facts.chart_refs.len(), 1);
}

/// A module argument that is a path below a variable's default, or that writes paths inside
/// functions (`concat`, `abspath`, `jsonencode`), is read with the reference's rules; a
/// template led by a variable that is no path (`"${var.prefix}-app"`) gives nothing.
#[test]
fn module_arguments_below_variables_and_inside_functions() {
    let text = r#"module "m" {
  source   = "./m"
  conf     = "${var.conf_dir}/app.yaml"
  per_env  = "${var.conf_dir}/${var.env}.yaml"
  name     = "${var.prefix}-app"
  files    = concat(["${path.module}/a.json"], var.more)
  abs      = abspath("${path.module}/../b.json")
  doc      = jsonencode({ f = "./c.json" })
  role     = var.role_path
}
"#;
    let facts = scanned(text);
    let got = read_tuples(facts.module_args());
    assert_eq!(
        got,
        vec![
            (
                PathBase::Local("var.conf_dir".into()),
                "/app.yaml",
                false,
                3
            ),
            (PathBase::Local("var.conf_dir".into()), "/", true, 4),
            // A list a path name is given may hold the variable's paths.
            (PathBase::Local("var.more".into()), "", false, 6),
            (PathBase::Module, "/a.json", true, 6),
            (PathBase::Module, "/../b.json", true, 7),
            (PathBase::Root, "./c.json", true, 8),
        ]
    );
}

/// A path template whose computed part starts with a local on its own records the local, on
/// the fast path as in the reference.
#[test]
fn the_local_a_computed_tail_starts_with_is_recorded() {
    let text = "locals {\n  rel = \"../../shared/a.tpl\"\n  a   = file(\"${path.module}/${local.rel}\")\n  b   = file(\"${local.dir}/x/${local.rel}\")\n  c   = file(\"${path.module}/${var.rel}\")\n  d   = file(\"conf/${local.rel}.yaml\")\n}\n";
    let facts = scanned(text);
    let got: Vec<_> = facts
        .file_refs
        .iter()
        .map(|r| (r.path.as_str(), r.tail_local.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/", Some("rel")),
            ("/x/", Some("rel")),
            ("/", Some("var.rel")),
            ("conf/", Some("rel")),
        ]
    );
}

/// What a module's `for_each` iterates over (a local or a variable, on its own, wrapped or
/// converted) and list defaults of variables: the fast path records what the reference does.
#[test]
fn for_each_sources_and_list_defaults_are_recorded_as_the_reference_does() {
    let text = r#"variable "files" {
  default = ["../../shared/g.tpl", "name"]
}

variable "names" {
  default = ["a", "b"]
}

locals {
  files = toset(["../../shared/d.tpl"])
  merged = merge({ a = "./a.json" }, local.more)
}

module "a" {
  for_each = local.files
  source   = "../../modules/m"
  p        = each.value
}

module "b" {
  for_each = "${var.files}"
  source   = "../../modules/m"
}

module "c" {
  for_each = toset(var.files)
  source   = "../../modules/m"
}

module "d" {
  for_each = concat(local.files, ["./x.json"])
  source   = "../../modules/m"
}

module "e" {
  for_each = { for f in local.files : f => f }
  source   = "../../modules/m"
}

module "f" {
  for_each = var.on ? toset([for f in tolist(var.files) : f]) : []
  source   = "../../modules/m"
}
"#;
    let facts = scanned(text);
    let handed: Vec<_> = facts
        .module_args()
        .map(|r| (r.base.clone(), r.path.as_str(), r.line))
        .collect();
    assert_eq!(
        handed,
        vec![
            (PathBase::Local("files".into()), "", 15),
            (PathBase::Local("var.files".into()), "", 21),
            (PathBase::Local("var.files".into()), "", 26),
            (PathBase::Root, "./x.json", 31),
            (PathBase::Local("files".into()), "", 31),
            (PathBase::Local("files".into()), "", 36),
            (PathBase::Local("var.files".into()), "", 41),
        ]
    );
    let locals: Vec<_> = facts
        .path_locals
        .iter()
        .map(|l| (l.name.as_str(), l.path.as_str()))
        .collect();
    assert_eq!(
        locals,
        vec![
            ("var.files", "../../shared/g.tpl"),
            ("files", "../../shared/d.tpl"),
            ("merged", "./a.json"),
            ("merged", ""),
        ]
    );
}

/// `format` in a file function is read as the template it stands for; the scanner leaves
/// such a call to the reference.
#[test]
fn a_format_call_reads_as_its_template() {
    let text = "output \"a\" {\n  value = file(format(\"%s/../x.json\", path.module))\n}\n\noutput \"b\" {\n  value = file(format(\"conf/%s.yaml\", var.env))\n}\n\noutput \"c\" {\n  value = file(format(\"%d/x\", 1))\n}\n\noutput \"d\" {\n  value = file(format(\"%s/100%%/%s\", path.root, var.x))\n}\n\noutput \"e\" {\n  value = file(format(\"%s/%s\", path.module, \"../shared/y.json\"))\n}\n";
    given_up(text);
    assert_reference_reads(
        text,
        &[
            (PathBase::Module, "/../x.json", false, 2),
            (PathBase::Root, "conf/", true, 6),
            (PathBase::Root, "/100%/", true, 14),
            (PathBase::Module, "/../shared/y.json", false, 18),
        ],
        &[10],
    );
}

/// `join` in a file function or a local is read as the template it stands for: the first
/// element is the base, later literal elements follow the separator, and a computed element
/// ends the path with a computed tail. The scanner leaves a file with such a call to the
/// reference, and reads a local so built with the reference's rules.
#[test]
fn a_join_call_reads_as_its_template() {
    let text = "output \"a\" {\n  value = file(join(\"/\", [path.module, \"..\", \"shared\", \"x.json\"]))\n}\n\noutput \"b\" {\n  value = file(join(\"/\", [\"conf\", var.env, \"x.yaml\"]))\n}\n\noutput \"c\" {\n  value = file(join(\"/\", local.parts))\n}\n\noutput \"d\" {\n  value = file(join(\"\", [path.root, \"/y.json\"]))\n}\n";
    given_up(text);
    assert_reference_reads(
        text,
        &[
            (PathBase::Module, "/../shared/x.json", false, 2),
            (PathBase::Root, "conf/", true, 6),
            (PathBase::Root, "/y.json", false, 14),
        ],
        &[10],
    );
    let text = r#"locals {
  a = join("/", [path.module, "..", "shared", "a.tpl"])
  b = join("-", [local.prefix, var.name])
  c = join("/", ["..", "conf", "x.json"])
  d = join("/", [path.module, var.y])
}
"#;
    let facts = scanned(text);
    assert_eq!(
        local_facts(&facts),
        vec![
            ("a", PathBase::Module, "/../shared/a.tpl", false),
            ("c", PathBase::Root, "../conf/x.json", false),
        ]
    );
}

/// The paths written as words of a command line are handed to the provider: each word led
/// by a path variable or a local and continued by `/`, or written as a relative path, up to
/// the next break; a word naming the module's directory or one above it is left out.
#[test]
fn the_paths_in_a_command_line_are_handed_over() {
    let text = r#"resource "null_resource" "r" {
  provisioner "local-exec" {
    command     = "bash ${path.module}/scripts/run.sh --env=${var.env} && python3 ./tools/x.py"
    interpreter = ["bash", "-c"]
  }
  provisioner "local-exec" {
    command = "cd ${path.module}/.. && ${local.bin}/deploy '../shared/${var.env}.json' --ok=${path.root}/conf.yaml"
  }
  provisioner "local-exec" {
    command = "echo done"
  }
  provisioner "local-exec" {
    command = <<-EOT
      set -e
      "${path.module}/scripts/heredoc.sh" ${var.x}
    EOT
  }
}
"#;
    let facts = scanned(text);
    let refs = read_tuples(&facts.file_refs);
    assert_eq!(
        refs,
        vec![
            (PathBase::Module, "/scripts/run.sh", false, 3),
            (PathBase::Root, "./tools/x.py", false, 3),
            (PathBase::Local("bin".into()), "/deploy", false, 7),
            // After `cd ${path.module}/..`, a relative word is read from there.
            (PathBase::Module, "/../../shared/", true, 7),
            (PathBase::Root, "/conf.yaml", false, 7),
            (PathBase::Module, "/scripts/heredoc.sh", false, 13),
        ]
    );
    // What runs above the module's directory may read anything there.
    assert_eq!(facts.unresolved_refs, vec![7]);
}

/// After `cd DIR` or `pushd DIR`, the relative words of a command line are read from
/// `DIR`, and so is a word with a `/` inside it (`bash shared/build.sh`); after a `cd` to
/// a place not written out, they are read as before (from where terraform runs).
#[test]
fn the_words_after_a_cd_are_read_from_where_it_went() {
    let text = r#"resource "null_resource" "r" {
  provisioner "local-exec" {
    command = "cd ${path.module}/../.. && ./shared/build.sh && bash tools/x.sh --out=dist"
  }
  provisioner "local-exec" {
    command = "pushd ../lambda; npm ci; ./pack.sh; cd $HOME && ./y.sh"
  }
  provisioner "local-exec" {
    command = "cd ${path.module} && ./local.sh"
  }
}
"#;
    let facts = scanned(text);
    let refs = read_tuples(&facts.file_refs);
    assert_eq!(
        refs,
        vec![
            (PathBase::Module, "/../.././shared/build.sh", false, 3),
            (PathBase::Module, "/../../tools/x.sh", false, 3),
            (PathBase::Root, "../lambda", false, 6),
            (PathBase::Root, "../lambda/./pack.sh", false, 6),
            (PathBase::Root, "./y.sh", false, 6),
            (PathBase::Module, "/./local.sh", false, 9),
        ]
    );
    // The first runs above the module's directory; `../lambda` is beside the stack's, and
    // the module's own directory is the module's.
    assert_eq!(facts.unresolved_refs, vec![3]);
}

/// A string written inside an interpolation is text of the path
/// (`"${path.module}/${"../shared"}/a.txt"`); the scanner leaves it to the reference.
#[test]
fn a_nested_string_is_part_of_the_path() {
    let text = r#"output "a" {
  value = file("${path.module}/${"../../shared"}/a.txt")
}
output "b" {
  value = file("${"../shared/${"b"}.txt"}")
}
"#;
    assert_eq!(scan(text), None);
    assert_reference_reads(
        text,
        &[
            (PathBase::Module, "/../../shared/a.txt", false, 2),
            (PathBase::Root, "../shared/b.txt", false, 5),
        ],
        &[],
    );
}

/// A file function given a `for` expression's value variable over a local or a variable
/// (`[for f in local.files : file(f)]`) reads one of the paths it holds; a variable of an
/// inner `for` over anything else hides it.
#[test]
fn a_for_variable_over_a_local_reads_its_paths() {
    let text = r#"locals {
  a = [for f in local.files : file(f)]
  b = { for k, v in toset(var.docs) : k => filemd5(v) }
  c = [for f in local.files : [for f in fileset(path.module, "*") : file(f)]]
  d = [for f in [var.x] : file(f)]
}
"#;
    assert_eq!(scan(text), None);
    assert_reference_reads(
        text,
        &[
            (PathBase::Local("files".into()), "", false, 2),
            (PathBase::Local(format!("{VAR_PREFIX}docs")), "", false, 3),
            (PathBase::Module, "", false, 4),
        ],
        &[4, 5],
    );
}

/// A local set to a static path built by `format` holds that path; the fast path leaves such
/// a value to the reference's rules, and a name built by `format` stays no path.
#[test]
fn a_local_built_by_format_holds_its_path() {
    let text = r#"locals {
  a = format("%s/../shared/a.tpl", path.module)
  b = format("%s-%s", local.prefix, var.name)
  c = format("%s/x/%s", path.module, var.y)
  d = format("../conf/%s", "x.json")
  e = format("%s/x.json", local.dir)
  f = "${format("%s/y", path.root)}"
}
"#;
    let facts = scanned(text);
    let locals = local_facts(&facts);
    assert_eq!(
        locals,
        vec![
            ("a", PathBase::Module, "/../shared/a.tpl", false),
            // A literal value of a later verb is part of the path.
            ("d", PathBase::Root, "../conf/x.json", false),
            ("f", PathBase::Root, "/y", false),
        ]
    );
}

/// A local or a variable under a key named as a path inside an object handed to a module
/// or a provider (`bundle_config = { path = var.source_dir }`) hands over every path it may
/// hold, as such a name at the top does; other keys hand over nothing.
#[test]
fn a_name_under_a_path_key_inside_an_object_is_handed_over() {
    for block in [
        "module \"m\" {\n  source = \"./m\"\n",
        "data \"archive_file\" \"n\" {\n",
    ] {
        for (line, expected) in [
            (
                "bundle_config = {\n    path = var.source_dir\n  }",
                vec![PathBase::Local("var.source_dir".into())],
            ),
            (
                "cfg = { memory = 256, \"source_dir\" = local.src }",
                vec![PathBase::Local("src".into())],
            ),
            (
                "bundle = { files = { policy_file = var.files[\"a\"] } }",
                vec![PathBase::Local("var.files".into())],
            ),
            ("tags = { Name = var.name, team = local.team }", vec![]),
            ("labels = { dir_name = \"x\" }", vec![]),
        ] {
            let text = format!("{block}  {line}\n}}\n");
            let facts = scanned(&text);
            let got: Vec<_> = path_arguments(&facts)
                .into_iter()
                .map(|(_, b, _, _)| b)
                .collect();
            assert_eq!(got, expected, "{text}");
        }
    }
}

/// The defaults a variable's type gives its attributes may be paths, as a default may.
#[test]
fn defaults_in_a_variable_type_are_candidates() {
    let facts = scanned(
        "variable \"cfg\" {\n  type = object({\n    memory     = optional(number, 256)\n    source_dir = optional(string, \"../src\")\n    nested     = optional(object({ file = optional(string, \"./a/b.json\") }), {})\n  })\n  default = {}\n}\n",
    );
    assert_eq!(
        local_facts(&facts),
        vec![
            ("var.cfg", PathBase::Root, "../src", true),
            ("var.cfg", PathBase::Root, "./a/b.json", true),
        ]
    );
    // No `optional`, or no `/`: nothing, on the fast path.
    for ty in ["object({ a = string })", "optional(string, \"x\")"] {
        let facts = scanned(&format!("variable \"v\" {{\n  type = {ty}\n}}\n"));
        assert!(facts.path_locals.is_empty(), "{ty}");
    }
}

/// A traversal of a map or list written in place or made by a call is read like the map or
/// list by both readers (any number of attributes and indexes, not one index only): the
/// locals and paths it names are candidates. Before, the scanner read
/// `merge(local.defaults, var.extra).x` as naming nothing, and `affected` missed the file.
#[test]
fn traversals_of_collections_are_read_as_the_reference_reads_them() {
    let text = r#"locals {
  a = merge(local.defaults, var.extra).x
  b = merge(local.defaults, {})["x"][0]
  c = { k = local.chart_dir }.k
  d = [local.e][0][1]
  f = { k = "${path.module}/../x.tpl" }.k
  g = (merge(local.defaults, {})).x
  h = merge(local.defaults, {}).*.x
  i = [for s in values(local.settings) : s.template_path][0]
  j = { for k, v in local.defaults : k => v }["a"].b
  l = (merge({ a = local.dir }, {})).a
  m = ([for s in local.more : s])[0]
}
"#;
    let facts = scanned(text);
    let named = |name: &str| -> Vec<String> {
        facts
            .path_locals
            .iter()
            .filter(|l| l.name == name)
            .map(|l| format!("{:?} {}", l.base, l.path))
            .collect()
    };
    assert_eq!(named("a"), [r#"Local("defaults") "#]);
    assert_eq!(named("b"), [r#"Local("defaults") "#]);
    assert_eq!(named("c"), [r#"Local("chart_dir") "#]);
    assert_eq!(named("d"), [r#"Local("e") "#]);
    assert_eq!(named("f"), ["Module /../x.tpl"]);
    // An element of a `for` expression, and of a collection in parentheses (before, not
    // followed by either reader).
    assert_eq!(named("i"), [r#"Local("settings") "#]);
    assert_eq!(named("j"), [r#"Local("defaults") "#]);
    assert_eq!(named("l"), [r#"Local("dir") "#]);
    assert_eq!(named("m"), [r#"Local("more") "#]);
}
