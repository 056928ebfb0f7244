//! `PgTarget::connect` against a real PostgreSQL with `ssl=on` and a `hostssl`-only `pg_hba.conf`:
//! a throwaway cluster in a temp dir, a CA and a server certificate for `localhost` made with the
//! `openssl` CLI. Each sslmode's check is seen to pass or fail for the right reason.
//!
//! Needs root (the server runs as user `postgres` via `runuser`) and PostgreSQL's server binaries
//! under `/usr/lib/postgresql/*/bin`. Without them it prints `SKIP: <reason>` and passes, except
//! under `CI=true`, where it fails.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use stark::ledger::pg::url::{ConnectErrorKind, PgTarget, SslMode, redact};

const PASSWORD: &str = "s3cr3t-Pa55";

fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

/// `None` means: skip (after printing why), or panic under CI.
fn prerequisites() -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let reason = if unsafe { libc::geteuid() } != 0 {
        "not root: the PostgreSQL server must run as user postgres via runuser"
    } else if let Some(bin) = pg_bin() {
        return Some(bin);
    } else {
        "no /usr/lib/postgresql/*/bin/initdb"
    };
    assert!(!ci, "CI=true and {reason}");
    println!("SKIP: {reason}");
    None
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn as_postgres(bin: &Path, tool: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
    c
}

fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").current_dir(dir).args(args));
}

/// A self-signed CA (`<name>.crt`, `<name>.key`).
fn make_ca(dir: &Path, name: &str) {
    std::fs::write(
        dir.join(format!("{name}.cnf")),
        "[req]\ndistinguished_name = dn\nx509_extensions = ca\nprompt = no\n\
         [dn]\nCN = stark test CA\n\
         [ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-config",
            &format!("{name}.cnf"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// `server.crt`/`server.key` for `localhost` only, signed by `ca`.
fn make_server_cert(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    );
}

struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn start_cluster(bin: &Path, dir: &Path) -> Cluster {
    let certs = dir.join("certs");
    std::fs::create_dir(&certs).unwrap();
    make_ca(&certs, "ca");
    make_ca(&certs, "other-ca");
    make_server_cert(&certs);
    std::fs::set_permissions(&certs, std::fs::Permissions::from_mode(0o755)).unwrap();
    run(Command::new("chown")
        .args(["postgres", "server.key", "server.crt"])
        .current_dir(&certs));
    std::fs::set_permissions(
        certs.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    let data = dir.join("data");
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, format!("{PASSWORD}\n")).unwrap();
    run(Command::new("chown").arg("postgres").arg(&pwfile));
    run(as_postgres(bin, "initdb")
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "stark",
            "-A",
            "scram-sha-256",
            "--no-sync",
            "--no-instructions",
        ])
        .arg(format!("--pwfile={}", pwfile.display())));
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all scram-sha-256\n\
         hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n",
    )
    .unwrap();

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = format!(
        "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={dir} \
         -c ssl=on -c ssl_cert_file={certs}/server.crt -c ssl_key_file={certs}/server.key \
         -c fsync=off",
        dir = dir.display(),
        certs = certs.display(),
    );
    let cluster = Cluster {
        bin: bin.to_path_buf(),
        data: data.clone(),
        port,
    };
    run(as_postgres(bin, "pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-w", "-t", "20", "-o", &opts, "-l"])
        .arg(dir.join("server.log"))
        .arg("start"));
    cluster
}

#[test]
fn connect_checks_what_each_sslmode_promises() {
    let Some(bin) = prerequisites() else { return };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    run(Command::new("chown").arg("postgres").arg(tmp.path()));
    let cluster = start_cluster(&bin, tmp.path());
    let port = cluster.port;
    let ca = tmp.path().join("certs/ca.crt");
    let other_ca = tmp.path().join("certs/other-ca.crt");
    let url = |host: &str, db: &str, query: &str| {
        format!("postgres://stark:{PASSWORD}@{host}:{port}/{db}?connect_timeout=5&{query}")
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let connect = |u: String| async move {
            let t = PgTarget::parse(&u).unwrap();
            t.connect().await
        };
        let fails = |u: String, kind: ConnectErrorKind| async move {
            let e = PgTarget::parse(&u)
                .unwrap()
                .connect()
                .await
                .expect_err(&redact(&u));
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(!text.contains(PASSWORD), "{text}");
            }
            assert_eq!(e.kind(), kind, "{e}");
            e.detail().to_string()
        };

        // verify-full with the right CA and the name in the certificate.
        let full = url(
            "localhost",
            "postgres",
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        );
        assert_eq!(
            PgTarget::parse(&full).unwrap().sslmode(),
            SslMode::VerifyFull
        );
        let client = connect(full).await.expect("verify-full with the right CA");
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
        let ssl: bool = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(ssl, "the session is encrypted");
        let app: String = client
            .query_one("SHOW application_name", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(app, "stark");

        // verify-full by IP address: the certificate names only localhost.
        let detail = fails(
            url(
                "127.0.0.1",
                "postgres",
                &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
            ),
            ConnectErrorKind::Tls,
        )
        .await;
        assert!(detail.contains("host name check failed"), "{detail}");
        assert!(detail.contains("127.0.0.1"), "{detail}");

        // verify-ca does not check the name, so the IP address passes with the right CA ...
        connect(url(
            "127.0.0.1",
            "postgres",
            &format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
        ))
        .await
        .expect("verify-ca ignores the host name");
        // ... and fails with another CA.
        let detail = fails(
            url(
                "localhost",
                "postgres",
                &format!("sslmode=verify-ca&sslrootcert={}", other_ca.display()),
            ),
            ConnectErrorKind::Tls,
        )
        .await;
        assert!(detail.contains("chain check failed"), "{detail}");
        assert!(detail.contains("other-ca.crt"), "{detail}");
        // require with a root file checks the chain too (libpq's rule).
        let detail = fails(
            url(
                "localhost",
                "postgres",
                &format!("sslmode=require&sslrootcert={}", other_ca.display()),
            ),
            ConnectErrorKind::Tls,
        )
        .await;
        assert!(detail.contains("chain check failed"), "{detail}");

        // require without a root file encrypts and checks nothing.
        let client = connect(url("127.0.0.1", "postgres", "sslmode=require"))
            .await
            .expect("require");
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);

        // Plaintext against hostssl-only: refused by pg_hba, with a hint about TLS.
        let detail = fails(
            url("127.0.0.1", "postgres", "sslmode=disable"),
            ConnectErrorKind::Auth,
        )
        .await;
        assert!(detail.contains("28000"), "{detail}");
        assert!(detail.contains("sslmode=require"), "{detail}");

        // A Unix socket: the directory as the host, no TLS.
        let socket = format!(
            "postgres://stark:{PASSWORD}@/postgres?host={}&port={port}",
            tmp.path().display()
        );
        let target = PgTarget::parse(&socket).unwrap();
        assert_eq!(target.sslmode(), SslMode::Disable);
        let client = target.connect().await.expect("unix socket");
        let ssl: Option<bool> = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(ssl, Some(false));

        // A wrong password, a missing database.
        let wrong =
            format!("postgres://stark:not-{PASSWORD}@127.0.0.1:{port}/postgres?sslmode=require");
        let detail = fails(wrong, ConnectErrorKind::Auth).await;
        assert!(detail.contains("28P01"), "{detail}");
        let detail = fails(
            url("127.0.0.1", "nosuchdb", "sslmode=require"),
            ConnectErrorKind::DatabaseMissing,
        )
        .await;
        assert!(detail.contains("3D000"), "{detail}");
    });
    drop(cluster);
}
