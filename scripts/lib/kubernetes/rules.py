"""FerretWatch's own checks of its Kubernetes manifests: what no schema says
(check.py runs them after the schema validation).

Each check takes the objects it needs and a `problems` collector with an
`add(where, message)` method.
"""

import json
import os
import re
import subprocess
import tempfile
import tomllib

import yaml

POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Rollout"}
# The staged deployment of runbook 9.1: these weights, each followed by an analysis.
STAGED_WEIGHTS = [10, 50]
# Labels the query may use that Prometheus adds (kubernetes_sd_configs relabelling,
# docs/kubernetes.md) rather than the server.
TARGET_LABELS = {"namespace", "pod", "instance", "job", "rollouts_pod_template_hash"}


class Index:
    """The loaded objects by kind: `of(kind)` lists (where, object), `named(kind)` maps
    metadata.name to the object."""

    def __init__(self, objects):
        self.by_kind = {}
        for where, doc in objects:
            self.by_kind.setdefault(doc["kind"], []).append((where, doc))

    def of(self, kind):
        return self.by_kind.get(kind, [])

    def named(self, kind):
        return {doc["metadata"]["name"]: doc for _, doc in self.of(kind)}


def matches(selector, labels):
    """Whether a LabelSelector selects `labels` (an empty selector selects everything)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_template(doc):
    """The pod template (metadata, spec) of a pod-bearing object, or None."""
    kind = doc["kind"]
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return doc.get("metadata") or {}, spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    return template.get("metadata") or {}, template.get("spec") or {}


def check_hardening(where, pod_spec, problems):
    """runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, capabilities drop
    ALL and the RuntimeDefault seccomp profile on every container (the pod-level
    securityContext may carry runAsNonRoot and seccompProfile)."""
    pod_sc = pod_spec.get("securityContext") or {}
    containers = []
    for field in ("initContainers", "containers", "ephemeralContainers"):
        containers += [(field, c) for c in pod_spec.get(field) or []]
    if not pod_spec.get("containers"):
        problems.add(where, "the pod template has no containers")
    for field, c in containers:
        sc = c.get("securityContext") or {}
        who = f"{field} {c.get('name')!r}"
        missing = []
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            missing.append("runAsNonRoot: true")
        if sc.get("readOnlyRootFilesystem") is not True:
            missing.append("readOnlyRootFilesystem: true")
        if sc.get("allowPrivilegeEscalation") is not False:
            missing.append("allowPrivilegeEscalation: false")
        if sc.get("privileged") is True:
            missing.append("privileged: false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            missing.append("capabilities.drop: [ALL]")
        if (sc.get("capabilities") or {}).get("add"):
            missing.append("no capabilities.add")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            missing.append("seccompProfile.type: RuntimeDefault")
        if missing:
            problems.add(where, f"{who} is not hardened: securityContext needs {', '.join(missing)}")


def check_probes_and_resources(where, pod_spec, problems):
    """Every container has liveness on /health, readiness on /ready and its resources."""
    for c in pod_spec.get("containers") or []:
        who = f"container {c.get('name')!r}"
        live = ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
        ready = ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
        if live != "/health":
            problems.add(where, f"{who}: livenessProbe must GET /health (has {live!r})")
        if ready != "/ready":
            problems.add(where, f"{who}: readinessProbe must GET /ready (has {ready!r})")
        res = c.get("resources") or {}
        for need in ("cpu", "memory"):
            if need not in (res.get("requests") or {}):
                problems.add(where, f"{who}: resources.requests.{need} is missing")
        if "memory" not in (res.get("limits") or {}):
            problems.add(where, f"{who}: resources.limits.memory is missing")


def container_ports(pod_spec):
    """Names and numbers of every container port of a pod spec."""
    ports = set()
    for c in pod_spec.get("containers") or []:
        for p in c.get("ports") or []:
            ports.add(p.get("containerPort"))
            if p.get("name"):
                ports.add(p["name"])
    return ports


def check_steps(where, doc, templates, problems):
    """The canary steps are the runbook's: setWeight 10, analysis, setWeight 50,
    analysis, then 100 (implicit, or an explicit last setWeight 100), with every
    analysis step naming templates that exist and giving their required arguments."""
    canary = ((doc.get("spec") or {}).get("strategy") or {}).get("canary")
    if not isinstance(canary, dict):
        problems.add(where, "spec.strategy.canary is missing: the staged rollout is a canary")
        return
    steps = canary.get("steps") or []
    weights = [s["setWeight"] for s in steps if isinstance(s, dict) and "setWeight" in s]
    staged = weights[:-1] if weights and weights[-1] == 100 else weights
    if staged != STAGED_WEIGHTS:
        problems.add(where, f"canary steps set weights {weights}, expected {STAGED_WEIGHTS} then 100")
    # After each staged weight, an analysis before the next weight or the end.
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("setWeight") not in STAGED_WEIGHTS:
            continue
        following = []
        for later in steps[i + 1:]:
            if isinstance(later, dict) and "setWeight" in later:
                break
            following.append(later)
        if not any(isinstance(s, dict) and "analysis" in s for s in following):
            problems.add(where, f"no analysis step after setWeight {step['setWeight']} "
                                "(each stage must be checked before the next)")
    analyses = [s["analysis"] for s in steps if isinstance(s, dict) and isinstance(s.get("analysis"), dict)]
    if isinstance(canary.get("analysis"), dict):
        analyses.append(canary["analysis"])
    for analysis in analyses:
        given = {a.get("name") for a in analysis.get("args") or [] if isinstance(a, dict)}
        for ref in analysis.get("templates") or []:
            name = ref.get("templateName") if isinstance(ref, dict) else None
            template = templates.get(name)
            if template is None:
                problems.add(where, f"analysis names AnalysisTemplate {name!r}, which is not in the manifests")
                continue
            for arg in (template.get("spec") or {}).get("args") or []:
                if "value" not in arg and "valueFrom" not in arg and arg.get("name") not in given:
                    problems.add(where, f"analysis with {name!r} does not pass its required argument "
                                        f"{arg.get('name')!r}")


def exported_metrics(source):
    """The metric names the server exports: {name: its labels, or None where the source
    does not say}. Labels are read from the `counter!`, `gauge!` and `histogram!` calls
    (`"label" => value` pairs); a histogram exports NAME_bucket (with `le`), NAME_sum
    and NAME_count."""
    metrics = {}
    # A macro call ends at the `)` followed by `.increment(`, `.record(`, `.set(` or `;`.
    macro = re.compile(r'(counter|gauge|histogram)!\(\s*"(ferretwatch_[a-z0-9_]+)"(.*?)\)\s*[.;]', re.S)
    literal = re.compile(r'"(ferretwatch_[a-z0-9_]+)')
    for dirpath, _, names in os.walk(source):
        for name in names:
            if not name.endswith(".rs"):
                continue
            with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                text = f.read()
            for m in literal.finditer(text):
                metrics.setdefault(m.group(1), None)
            for m in macro.finditer(text):
                kind, metric = m.group(1), m.group(2)
                labels = set(re.findall(r'"([a-z_]+)"\s*=>', m.group(3)))
                found = {metric: labels}
                if kind == "histogram":
                    found = {metric + "_bucket": labels | {"le"}, metric + "_sum": labels,
                             metric + "_count": labels}
                for n, ls in found.items():
                    # A metric counted in several places carries the labels of all of them.
                    metrics[n] = (metrics.get(n) or set()) | ls
    return metrics


def check_analysis_template(where, doc, metrics, problems):
    """Every Prometheus query names exported metrics and labels they carry, every
    {{args.X}} is declared, and the two rollout checks are there: the canary's 5xx
    rate against an `error-rate-threshold` argument (default 0.01) and its p99 latency."""
    spec = doc.get("spec") or {}
    declared = {a.get("name"): a for a in spec.get("args") or [] if isinstance(a, dict)}
    threshold = declared.get("error-rate-threshold")
    if threshold is None or threshold.get("value") != "0.01":
        problems.add(where, "argument error-rate-threshold must default to \"0.01\"")
    queries = []
    for metric in spec.get("metrics") or []:
        prom = ((metric.get("provider") or {}).get("prometheus")) or {}
        text = json.dumps(metric)
        for used in re.findall(r"\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}", text):
            if used not in declared:
                problems.add(where, f"metric {metric.get('name')!r} uses undeclared argument {used!r}")
        query = prom.get("query")
        if not query:
            continue
        # {{args.X}} placeholders hold braces of their own; the selectors are read without them.
        query = re.sub(r"\{\{[^}]*\}\}", "ARG", query)
        queries.append(query)
        for name, selector in re.findall(r"\b(ferretwatch_[a-z0-9_]+)\s*(\{[^}]*\})?", query):
            if name not in metrics:
                problems.add(where, f"metric {metric.get('name')!r} queries {name}, which the server "
                                    "does not export (crates/server)")
                continue
            labels = metrics[name]
            used = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", selector or ""))
            unknown = sorted(used - TARGET_LABELS - (labels if labels is not None else used))
            if unknown:
                problems.add(where, f"metric {metric.get('name')!r}: {name} has no label {', '.join(unknown)}")
    joined = "\n".join(queries)
    if not re.search(r'ferretwatch_http_requests_total\{[^}]*status=~"5\.\."', joined):
        problems.add(where, "no query of the 5xx rate (ferretwatch_http_requests_total{status=~\"5..\"})")
    if not re.search(r"histogram_quantile\(\s*0\.99\s*,[^;]*ferretwatch_http_request_duration_seconds_bucket", joined):
        problems.add(where, "no query of the p99 latency "
                            "(histogram_quantile(0.99, …ferretwatch_http_request_duration_seconds_bucket…))")
    if "rollouts_pod_template_hash" not in joined:
        problems.add(where, "the queries do not select the canary's pods (rollouts_pod_template_hash)")


def int_or_none(value):
    """An int-or-string field as an int (None when absent or not a number)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_metric_rules(where, doc, problems):
    """The rules the Argo Rollouts controller applies to each metric when it starts an
    AnalysisRun (analysis helpers, ValidateMetrics): unique names, exactly one provider,
    count >= failureLimit and inconclusiveLimit, an interval when count > 1."""
    seen = set()
    for metric in (doc.get("spec") or {}).get("metrics") or []:
        name = metric.get("name")
        if name in seen:
            problems.add(where, f"metric {name!r} is defined twice")
        seen.add(name)
        providers = [k for k, v in (metric.get("provider") or {}).items() if v]
        if len(providers) != 1:
            problems.add(where, f"metric {name!r} needs exactly one provider (has {providers or 'none'})")
        count = int_or_none(metric.get("count")) or 0
        for limit in ("failureLimit", "inconclusiveLimit"):
            value = int_or_none(metric.get(limit)) or 0
            if value < 0:
                problems.add(where, f"metric {name!r}: {limit} must be >= 0")
            if count > 0 and count < value:
                problems.add(where, f"metric {name!r}: count ({count}) must be >= {limit} ({value})")
        if count > 1 and not metric.get("interval"):
            problems.add(where, f"metric {name!r}: count > 1 needs an interval")


def check_promql(where, doc, problems):
    """Every Prometheus query parses: `promtool check rules` on it, as a recording rule,
    with each {{args.X}} replaced by the argument's default (or "x")."""
    spec = doc.get("spec") or {}
    defaults = {a.get("name"): a.get("value", "x") for a in spec.get("args") or [] if isinstance(a, dict)}
    for metric in spec.get("metrics") or []:
        query = (((metric.get("provider") or {}).get("prometheus")) or {}).get("query")
        if not query:
            continue
        expr = re.sub(r"\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}", lambda m: str(defaults.get(m.group(1), "x")), query)
        rules = {"groups": [{"name": "analysis", "rules": [{"record": "analysis:query", "expr": expr}]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump(rules, f)
            f.flush()
            run = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        if run.returncode != 0:
            said = (run.stderr + run.stdout).strip().splitlines()
            reason = next((line.split("could not parse expression: ", 1)[1] for line in said
                           if "could not parse expression" in line), " ".join(said))
            problems.add(where, f"metric {metric.get('name')!r}: the query is not valid PromQL: {reason}")


def check_kustomization(where, doc, manifests, files, problems):
    """Every listed resource exists, every manifest is listed, and no Secret is
    generated from literal values."""
    listed = set()
    for res in doc.get("resources") or []:
        path = os.path.normpath(os.path.join(manifests, res))
        if not os.path.exists(path):
            problems.add(where, f"resource {res!r} does not exist")
        listed.add(path)
    for f in files:
        path = os.path.normpath(f)
        if os.path.basename(path) in ("kustomization.yaml", "kustomization.yml"):
            continue
        if path not in listed:
            problems.add(where, f"{os.path.relpath(path, manifests)} is not listed in resources")
    for gen in doc.get("secretGenerator") or []:
        if gen.get("literals"):
            problems.add(where, f"secretGenerator {gen.get('name')!r} commits secret values (literals)")


def check_pods(index, problems):
    """Every pod template: hardened, no service account token, its ConfigMaps and claims
    present, a claim that several pods share ReadWriteMany.
    Returns (where, labels, spec) of each, for the selector checks."""
    accounts = index.named("ServiceAccount")
    configmaps = index.named("ConfigMap")
    claims = index.named("PersistentVolumeClaim")
    pods = []
    for kind in sorted(POD_KINDS):
        for where, doc in index.of(kind):
            meta, spec = pod_template(doc)
            if not isinstance(meta, dict) or not isinstance(spec, dict):
                continue
            pods.append((where, meta.get("labels") or {}, spec))
            check_hardening(where, spec, problems)
            if spec.get("automountServiceAccountToken") is not False:
                account = accounts.get(spec.get("serviceAccountName") or "default") or {}
                if account.get("automountServiceAccountToken") is not False:
                    problems.add(where, "the pod would mount a service account token "
                                        "(automountServiceAccountToken: false)")
            replicas = (doc.get("spec") or {}).get("replicas", 1)
            for vol in spec.get("volumes") or []:
                name = (vol.get("configMap") or {}).get("name")
                if name and name not in configmaps:
                    problems.add(where, f"volume {vol.get('name')!r} names ConfigMap {name!r}, "
                                        "which is not in the manifests")
                claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
                if claim and claim not in claims:
                    problems.add(where, f"volume {vol.get('name')!r} names PersistentVolumeClaim {claim!r}, "
                                        "which is not in the manifests")
                elif claim and replicas != 1 and "ReadWriteMany" not in (
                        (claims[claim].get("spec") or {}).get("accessModes") or []):
                    problems.add(where, f"volume {vol.get('name')!r}: PersistentVolumeClaim {claim!r} is shared "
                                        "by several pods but is not ReadWriteMany")
    return pods


def check_rollout(where, doc, index, problems):
    """A Rollout: its steps, probes and resources, and that its selector, its stable and
    canary Services and its stable Ingress all lead to its pods."""
    meta, spec = pod_template(doc)
    labels = meta.get("labels") or {}
    check_steps(where, doc, index.named("AnalysisTemplate"), problems)
    check_probes_and_resources(where, spec, problems)
    selector = (doc.get("spec") or {}).get("selector")
    if not selector or not matches(selector, labels):
        problems.add(where, "spec.selector does not select the pod template's labels")
    canary = ((doc.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    services = index.named("Service")
    ports = container_ports(spec)
    for role in ("stableService", "canaryService"):
        name = canary.get(role)
        if not name:
            problems.add(where, f"strategy.canary.{role} is missing")
            continue
        svc = services.get(name)
        if svc is None:
            problems.add(where, f"strategy.canary.{role} {name!r} is not in the manifests")
            continue
        sel = (svc.get("spec") or {}).get("selector") or {}
        if not sel or not matches({"matchLabels": sel}, labels):
            problems.add(f"Service/{name}", "its selector does not select the Rollout's pods")
        for p in (svc.get("spec") or {}).get("ports") or []:
            if p.get("targetPort", p.get("port")) not in ports:
                problems.add(f"Service/{name}", f"targetPort {p.get('targetPort')!r} is no container port")
    stable_ingress = ((canary.get("trafficRouting") or {}).get("nginx") or {}).get("stableIngress")
    if stable_ingress:
        ing = index.named("Ingress").get(stable_ingress)
        if ing is None:
            problems.add(where, f"trafficRouting.nginx.stableIngress {stable_ingress!r} is not in the manifests")
        elif f'"name": "{canary.get("stableService")}"' not in json.dumps(ing):
            problems.add(f"Ingress/{stable_ingress}", "its backend is not the stable Service")


def check_disruption_budgets(manifests, index, pods, problems):
    """A PodDisruptionBudget exists, and each selects a pod template."""
    budgets = index.of("PodDisruptionBudget")
    for where, doc in budgets:
        selector = (doc.get("spec") or {}).get("selector")
        if not selector or not any(matches(selector, labels) for _, labels, _ in pods):
            problems.add(where, "its selector matches no pod template in the manifests")
    if pods and not budgets:
        problems.add(manifests, "no PodDisruptionBudget")


def check_network_policies(manifests, index, pods, problems):
    """A default-deny policy exists, a policy selects every pod template, and the
    ingress ports it opens are container ports."""
    policies = index.of("NetworkPolicy")

    def is_default_deny(spec):
        return (spec.get("podSelector") == {}
                and set(spec.get("policyTypes") or []) == {"Ingress", "Egress"}
                and not spec.get("ingress") and not spec.get("egress"))

    if not any(is_default_deny(doc.get("spec") or {}) for _, doc in policies):
        problems.add(manifests, "no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and "
                                "Egress, no rules)")
    for pod_where, labels, spec in pods:
        selecting = [(w, d) for w, d in policies
                     if (d.get("spec") or {}).get("podSelector") and matches(d["spec"]["podSelector"], labels)]
        if not selecting:
            problems.add(pod_where, "no NetworkPolicy selects these pods")
        ports = container_ports(spec)
        for w, d in selecting:
            for rule in (d.get("spec") or {}).get("ingress") or []:
                for p in rule.get("ports") or []:
                    if p.get("port") not in ports:
                        problems.add(w, f"ingress port {p.get('port')!r} is no container port of {pod_where}")


def check_secrets_and_config(index, problems):
    """No Secret values are committed, and every .toml key of a ConfigMap parses."""
    for where, doc in index.of("Secret"):
        if doc.get("data") or doc.get("stringData"):
            problems.add(where, "a Secret with values is committed; reference it by name and create "
                                "it in the cluster (docs/kubernetes.md)")
    for where, doc in index.of("ConfigMap"):
        for key, value in (doc.get("data") or {}).items():
            if key.endswith(".toml"):
                try:
                    tomllib.loads(value)
                except tomllib.TOMLDecodeError as e:
                    problems.add(where, f"{key} is not valid TOML: {e}")


def check_all(manifests, files, objects, metrics_source, problems):
    """Every FerretWatch check over the loaded `objects` [(where, object)] of `files`."""
    index = Index(objects)
    for where, doc in index.of("Kustomization"):
        check_kustomization(where, doc, manifests, files, problems)
    metrics = exported_metrics(metrics_source)
    if "ferretwatch_http_requests_total" not in metrics:
        problems.add(metrics_source, "no metric names found: is this crates/server/src?")
    if not index.of("Rollout"):
        problems.add(manifests, "no Rollout")
    pods = check_pods(index, problems)
    for where, doc in index.of("Rollout"):
        check_rollout(where, doc, index, problems)
    for where, doc in index.of("AnalysisTemplate"):
        check_analysis_template(where, doc, metrics, problems)
        check_metric_rules(where, doc, problems)
        check_promql(where, doc, problems)
    check_disruption_budgets(manifests, index, pods, problems)
    check_network_policies(manifests, index, pods, problems)
    check_secrets_and_config(index, problems)
