//! `scripts/validate-kubernetes.sh`, the offline validation of `deploy/kubernetes`: the
//! real manifests pass, and copies broken one way each (a misspelt field, a wrong type, a
//! Rollout step missing, a container without its hardening, a query of a metric the
//! server does not export or one that does not parse, selectors that miss the pods, a
//! committed Secret) exit 1 naming the problem. The script installs what it needs (pip,
//! npm, Debian's prometheus for promtool) itself; an install that fails fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the script on `manifests` (the real directory when None): (exit code, stdout, stderr).
fn validate(manifests: Option<&Path>) -> (i32, String, String) {
    let mut command = Command::new("bash");
    command.arg(repo().join("scripts/validate-kubernetes.sh"));
    if let Some(dir) = manifests {
        command.arg("--manifests").arg(dir);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A copy of deploy/kubernetes with `from` replaced by `to` in `file` (which must hold it).
fn broken(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("deploy/kubernetes")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} does not hold {from:?}: the test is out of date");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    dir
}

/// The broken copy fails with exit 1 and every one of `reasons` in its output.
fn fails_with(file: &str, from: &str, to: &str, reasons: &[&str]) {
    let dir = broken(file, from, to);
    let (code, stdout, stderr) = validate(Some(dir.path()));
    assert_eq!(code, 1, "{file}: {from:?} → {to:?} was accepted\n{stdout}{stderr}");
    for reason in reasons {
        assert!(stderr.contains(reason), "{file}: {from:?} → {to:?}: no {reason:?} in\n{stderr}");
    }
}

#[test]
fn the_real_manifests_are_valid() {
    let (code, stdout, stderr) = validate(None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Kubernetes 1.37 schemas (strict), Argo Rollouts schemas"), "{stdout}");
}

#[test]
fn misspelt_fields_and_wrong_types_fail_against_the_schemas() {
    // Argo Rollouts schema: an unknown field, in the strategy and in a step.
    fails_with(
        "rollout.yaml",
        "progressDeadlineAbort: true",
        "progressDeadlineAbrot: true",
        &["Rollout/ferretwatch: spec.progressDeadlineAbrot: unknown field"],
    );
    fails_with(
        "rollout.yaml",
        "duration: 30m",
        "durration: 30m",
        &["spec.strategy.canary.steps.1.pause.durration: unknown field"],
    );
    // Argo Rollouts schema: a wrong type.
    fails_with("rollout.yaml", "replicas: 3", "replicas: three", &["spec.replicas: must be integer"]);
    fails_with(
        "analysistemplate.yaml",
        "count: 5",
        "count: [5]",
        &["AnalysisTemplate/ferretwatch-canary: spec.metrics.0.count: must be"],
    );
    // The pod template, against the Kubernetes schema as well.
    fails_with(
        "rollout.yaml",
        "enableServiceLinks: false",
        "enableServiceLink: false",
        &["spec.template.spec.enableServiceLink: unknown field", "'enableServiceLink' was unexpected"],
    );
    // Kubernetes schemas: an unknown field and a wrong type.
    fails_with(
        "pdb.yaml",
        "minAvailable: 2",
        "minAvailible: 2",
        &["PodDisruptionBudget/ferretwatch: Kubernetes 1.37 schema: spec: Additional properties are not allowed"],
    );
    fails_with(
        "services.yaml",
        "port: 80",
        "port: eighty",
        &["Service/ferretwatch-stable: Kubernetes 1.37 schema: spec.ports.0.port: 'eighty' is not of type 'integer'"],
    );
    fails_with("networkpolicy.yaml", "kind: NetworkPolicy", "kind: NetworkPolicie", &["no Kubernetes 1.37 schema"]);
    fails_with("configmap.yaml", "log = \"info\"", "log = info", &["ferretwatch.toml is not valid TOML"]);
}

#[test]
fn a_missing_stage_or_analysis_fails() {
    fails_with("rollout.yaml", "setWeight: 50", "setWeight: 60", &["set weights [10, 60], expected [10, 50]"]);
    // The analysis after 50 % removed: 50 % would go to 100 % unchecked.
    let analysis = "        - analysis:\n            templates:\n              - templateName: ferretwatch-canary\n            args:\n              - name: canary-hash\n                valueFrom:\n                  podTemplateHashValue: Latest\n        # After";
    fails_with("rollout.yaml", analysis, "        # After", &["no analysis step after setWeight 50"]);
    fails_with(
        "rollout.yaml",
        "- templateName: ferretwatch-canary",
        "- templateName: ferretwatch-canry",
        &["AnalysisTemplate 'ferretwatch-canry', which is not in the manifests"],
    );
    fails_with(
        "rollout.yaml",
        "              - name: canary-hash\n",
        "              - name: canary\n",
        &["does not pass its required argument 'canary-hash'"],
    );
}

#[test]
fn an_unhardened_container_fails() {
    fails_with(
        "rollout.yaml",
        "            readOnlyRootFilesystem: true\n",
        "",
        &["containers 'ferretwatch' is not hardened: securityContext needs readOnlyRootFilesystem: true"],
    );
    fails_with(
        "rollout.yaml",
        "                - ALL\n",
        "                - NET_RAW\n",
        &["containers 'ferretwatch' is not hardened: securityContext needs capabilities.drop: [ALL]"],
    );
    fails_with(
        "rollout.yaml",
        "            allowPrivilegeEscalation: false",
        "            allowPrivilegeEscalation: true",
        &["securityContext needs allowPrivilegeEscalation: false"],
    );
    // An init container is held to the same (the pod's runAsNonRoot and seccompProfile
    // count for it).
    fails_with(
        "rollout.yaml",
        "      containers:\n",
        "      initContainers:\n        - name: setup\n          image: busybox\n      containers:\n",
        &["initContainers 'setup' is not hardened: securityContext needs readOnlyRootFilesystem: true, \
           allowPrivilegeEscalation: false, capabilities.drop: [ALL]"],
    );
    fails_with("rollout.yaml", "path: /ready", "path: /health", &["readinessProbe must GET /ready"]);
}

#[test]
fn queries_of_metrics_the_server_does_not_export_fail() {
    fails_with(
        "analysistemplate.yaml",
        "sum(rate(ferretwatch_http_requests_total{namespace",
        "sum(rate(ferretwatch_http_request_total{namespace",
        &["queries ferretwatch_http_request_total, which the server does not export"],
    );
    fails_with(
        "analysistemplate.yaml",
        "service=\"reports\"",
        "srvice=\"reports\"",
        &["ferretwatch_http_request_duration_seconds_bucket has no label srvice"],
    );
    fails_with(
        "analysistemplate.yaml",
        "histogram_quantile(0.99,",
        "histogram_quantile(0.5,",
        &["no query of the p99 latency"],
    );
    // What the Argo Rollouts controller refuses when it starts the AnalysisRun.
    fails_with(
        "analysistemplate.yaml",
        "failureLimit: 1",
        "failureLimit: 6",
        &["metric 'error-rate': count (5) must be >= failureLimit (6)"],
    );
    fails_with(
        "analysistemplate.yaml",
        "or vector(NaN)",
        "or vector(NaN",
        &["metric 'latency-p99': the query is not valid PromQL"],
    );
    fails_with(
        "analysistemplate.yaml",
        "value: \"0.01\"",
        "value: \"0.05\"",
        &["error-rate-threshold must default to \"0.01\""],
    );
}

#[test]
fn selectors_that_miss_the_pods_and_committed_secrets_fail() {
    fails_with(
        "pdb.yaml",
        "  selector:\n    matchLabels:\n      app.kubernetes.io/name: ferretwatch",
        "  selector:\n    matchLabels:\n      app.kubernetes.io/name: ferretwatch-web",
        &["PodDisruptionBudget/ferretwatch: its selector matches no pod template"],
    );
    fails_with(
        "networkpolicy.yaml",
        "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: ferretwatch",
        "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: ferretwatch-web",
        &["Rollout/ferretwatch: no NetworkPolicy selects these pods"],
    );
    fails_with(
        "pvc.yaml",
        "    - ReadWriteMany",
        "    - ReadWriteOnce",
        &["PersistentVolumeClaim 'ferretwatch-data' is shared by several pods but is not ReadWriteMany"],
    );
    fails_with(
        "networkpolicy.yaml",
        "  podSelector: {}\n",
        "  podSelector:\n    matchLabels:\n      a: b\n",
        &["no default-deny NetworkPolicy"],
    );
    fails_with(
        "services.yaml",
        "  selector:\n    app.kubernetes.io/name: ferretwatch\n",
        "  selector:\n    app: ferretwatch\n",
        &["Service/ferretwatch-stable: its selector does not select the Rollout's pods"],
    );
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ferretwatch-secrets\n  namespace: ferretwatch\nstringData:\n  FERRETWATCH_INSTALL_SECRET: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    fails_with(
        "kustomization.yaml",
        "  - rollout.yaml\n",
        "  - rollout.yaml\n  - secret.yaml\n",
        &["resource 'secret.yaml' does not exist"],
    );
    let dir = broken("kustomization.yaml", "  - rollout.yaml\n", "  - rollout.yaml\n  - secret.yaml\n");
    std::fs::write(dir.path().join("secret.yaml"), secret).unwrap();
    let (code, _, stderr) = validate(Some(dir.path()));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("Secret/ferretwatch-secrets: a Secret with values is committed"), "{stderr}");
    // A manifest kustomization.yaml does not list would never be applied.
    let dir = broken("kustomization.yaml", "  - pdb.yaml\n", "");
    let (code, _, stderr) = validate(Some(dir.path()));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("pdb.yaml is not listed in resources"), "{stderr}");
}

#[test]
fn bad_usage_exits_2() {
    let out = Command::new("bash")
        .arg(repo().join("scripts/validate-kubernetes.sh"))
        .args(["--manifests", "/nonexistent/ferretwatch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
    let out = Command::new("bash").arg(repo().join("scripts/validate-kubernetes.sh")).arg("--strict").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new("bash").arg(repo().join("scripts/validate-kubernetes.sh")).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--manifests DIR"));
}
