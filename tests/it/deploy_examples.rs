//! The Kubernetes examples (`examples/kubernetes/`) cannot drift: every `stark` command in
//! them parses with the current command line (as the documented ones do, `readme.rs`), and
//! the CronJobs are the lines of `crontab.example`, one each, with the same schedules.
//!
//! The manifests write each `command:` and `args:` as a JSON array (a YAML flow sequence), so
//! they are read here without a YAML parser.

use std::path::{Path, PathBuf};

/// One YAML document of a manifest file.
struct Doc {
    file: String,
    kind: String,
    text: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn manifests() -> Vec<Doc> {
    let dir = root().join("examples/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for part in text.split("\n---\n") {
            let Some(kind) = part.lines().find_map(|l| l.strip_prefix("kind: ")) else {
                continue;
            };
            docs.push(Doc {
                file: file.clone(),
                kind: kind.trim().to_string(),
                text: part.to_string(),
            });
        }
    }
    docs
}

/// The JSON array after `key:` on `line`, if the line is that key.
fn array(line: &str, key: &str) -> Option<Vec<String>> {
    let rest = line.trim().strip_prefix(key)?.strip_prefix(':')?.trim();
    let v: Vec<String> = serde_json::from_str(rest)
        .unwrap_or_else(|e| panic!("`{key}:` is not a JSON array of strings ({e}): {line}"));
    Some(v)
}

/// Each container's command line in `doc`: its `command:` array, then the `args:` array that
/// follows it.
fn command_lines(doc: &Doc) -> Vec<Vec<String>> {
    let lines: Vec<&str> = doc.text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(mut argv) = array(line, "command") else {
            continue;
        };
        if let Some(args) = lines[i + 1..]
            .iter()
            .take_while(|l| array(l, "command").is_none())
            .find_map(|l| array(l, "args"))
        {
            argv.extend(args);
        }
        out.push(argv);
    }
    out
}

/// The value of `key:` on its own line (quotes removed), every time it appears.
fn values<'a>(doc: &'a Doc, key: &str) -> Vec<&'a str> {
    doc.text
        .lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix(": "))
        .map(|v| v.trim().trim_matches('"'))
        .collect()
}

/// The schedule and `stark` command line of each job line of `crontab.example` (the words up
/// to the output redirection).
fn crontab() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("crontab.example")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter(|l| !l.split_whitespace().next().unwrap().contains('='))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let schedule = words[..5].join(" ");
            let argv = words[5..]
                .iter()
                .take_while(|w| !w.starts_with('>'))
                .map(|w| w.to_string())
                .collect();
            (schedule, argv)
        })
        .collect()
}

#[test]
fn every_stark_command_in_the_kubernetes_examples_parses() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for doc in manifests() {
        for argv in command_lines(&doc) {
            assert_eq!(argv[0], "stark", "{}: {argv:?}", doc.file);
            checked += 1;
            if let Err(e) = stark::cli::try_parse_from(&argv) {
                broken.push(format!("{}: `{}`: {}", doc.file, argv.join(" "), e.kind()));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // init, doctor, webhook ensure, serve-webhook, and the two CronJobs.
    assert!(checked >= 6, "only {checked} command lines found");
}

#[test]
fn the_cronjobs_are_the_lines_of_crontab_example() {
    let cron = crontab();
    assert_eq!(cron.len(), 2, "{cron:?}");
    let jobs: Vec<Doc> = manifests()
        .into_iter()
        .filter(|d| d.kind == "CronJob")
        .collect();
    let mut found: Vec<(String, Vec<String>)> = jobs
        .iter()
        .map(|d| {
            let schedule = values(d, "schedule");
            assert_eq!(schedule.len(), 1, "{}", d.text);
            let commands = command_lines(d);
            assert_eq!(commands.len(), 1, "one container per CronJob: {}", d.text);
            assert_eq!(values(d, "concurrencyPolicy"), ["Forbid"], "{}", d.text);
            assert_eq!(values(d, "restartPolicy"), ["Never"], "{}", d.text);
            assert_eq!(values(d, "backoffLimit"), ["0"], "{}", d.text);
            let deadline = values(d, "startingDeadlineSeconds");
            assert!(
                deadline.len() == 1 && deadline[0].parse::<u32>().is_ok_and(|s| s >= 60),
                "{}",
                d.text
            );
            (schedule[0].to_string(), commands[0].clone())
        })
        .collect();
    let mut want = cron;
    found.sort();
    want.sort();
    assert_eq!(found, want, "the CronJobs and crontab.example disagree");
}

#[test]
fn the_deployment_listens_where_its_probes_and_service_look() {
    let docs = manifests();
    let deployment = docs.iter().find(|d| d.kind == "Deployment").unwrap();
    assert_eq!(values(deployment, "replicas"), ["2"]);
    let argv = &command_lines(deployment)[0];
    assert!(argv.contains(&"--no-register".to_string()), "{argv:?}");
    let listen = &argv[argv.iter().position(|a| a == "--listen").unwrap() + 1];
    let port = listen.parse::<std::net::SocketAddr>().unwrap().port();
    assert!(listen.starts_with("0.0.0.0:"), "{listen}");
    assert_eq!(values(deployment, "containerPort"), [port.to_string()]);
    assert_eq!(values(deployment, "path"), ["/healthz", "/healthz"]);
    for probe in ["readinessProbe:", "livenessProbe:"] {
        assert!(deployment.text.contains(probe), "{probe}");
    }
    // Every pod gets the key from the Secret as STARK_PRIVATE_KEY_PEM, never as a flag.
    for doc in docs
        .iter()
        .filter(|d| matches!(d.kind.as_str(), "Deployment" | "Job" | "CronJob"))
    {
        assert!(
            doc.text.contains("name: STARK_PRIVATE_KEY_PEM"),
            "{}",
            doc.file
        );
        assert!(
            command_lines(doc)
                .iter()
                .all(|a| !a.contains(&"--private-key".to_string())),
            "{}",
            doc.file
        );
    }
    // The Ensure job registers the URL the Ingress serves.
    let job = docs.iter().find(|d| d.kind == "Job").unwrap();
    let ensure = command_lines(job)
        .into_iter()
        .find(|a| a.len() > 3 && a[1..3] == ["webhook", "ensure"])
        .unwrap();
    let url = reqwest::Url::parse(&ensure[ensure.len() - 1]).unwrap();
    let ingress = docs.iter().find(|d| d.kind == "Ingress").unwrap();
    assert_eq!(values(ingress, "- host"), [url.host_str().unwrap()]);
    assert_eq!(values(ingress, "- path"), [url.path()]);
}
